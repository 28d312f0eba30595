import { readFileSync } from 'node:fs';
import { Migration } from '@mikro-orm/migrations';

/** The initial schema; the SQL lives beside this file so it can be read and reviewed as SQL. */
export class Migration20261123000001Initial extends Migration {
  override name = 'Migration20261123000001Initial';

  override up(): void {
    this.addSql(readFileSync(new URL('./0001-initial.sql', import.meta.url), 'utf8'));
  }
}
