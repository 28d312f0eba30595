import { readFileSync } from 'node:fs';
import { Migration } from '@mikro-orm/migrations';

/** alert_event.xid: the writer's transaction id, the commit fence of alertStream's replay. */
export class Migration20261123000002AlertEventXid extends Migration {
  override name = 'Migration20261123000002AlertEventXid';

  override up(): void {
    this.addSql(readFileSync(new URL('./0002-alert-event-xid.sql', import.meta.url), 'utf8'));
  }
}
