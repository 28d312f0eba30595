import type { Em } from '@tenantgate/shared';
import type { TenantScope } from '../auth/authorization.ts';
import { decodeCursor, encodeCursor } from '../graphql/relay.ts';
import type { Page } from './resources.ts';
import { pgArray, Where } from './sql.ts';

export interface TaskRow {
  upid: string;
  connection_id: string;
  node: string;
  type: string;
  vmid: number | null;
  pve_user: string;
  token_id: string | null;
  starttime: Date;
  endtime: Date | null;
  status: string | null;
  outcome: string;
  portal_user_id: string | null;
  guest_id: string;
}

const TASK_COLUMNS = `t.upid, t.connection_id, t.node, t.type, t.vmid, t.pve_user, t.token_id, t.starttime, t.endtime,
  t.status, t.outcome, t.portal_user_id, g.id AS guest_id`;

/** PVE tasks of a tenant's guests: visible through the guest's current owner (SQL join + predicate). */
export class TaskRepository {
  /** The latest `limit` tasks of each guest, for many guests in one statement (DataLoader batch). */
  async latestByGuests(
    em: Em,
    scope: TenantScope | 'unscoped',
    guestIds: readonly string[],
    limit: number,
  ): Promise<Map<string, TaskRow[]>> {
    const w = new Where().add('g.id = ANY(?::uuid[])', pgArray(guestIds));
    if (scope !== 'unscoped') w.add('g.tenant_id = ?', scope.tenantId);
    const rows = await em.execute<TaskRow[]>(
      `SELECT x.* FROM guest g CROSS JOIN LATERAL (
         SELECT ${TASK_COLUMNS} FROM pve_task t
          WHERE t.connection_id = g.connection_id AND t.vmid = g.vmid
          ORDER BY t.starttime DESC LIMIT ${Math.trunc(limit)}) x
        ${w}`,
      w.params,
    );
    const byGuest = new Map<string, TaskRow[]>();
    for (const r of rows) {
      const list = byGuest.get(r.guest_id);
      if (list) list.push(r);
      else byGuest.set(r.guest_id, [r]);
    }
    return byGuest;
  }

  /** Tasks of the tenant's guests, newest first, keyset-paginated by (starttime, upid). */
  async page(
    em: Em,
    scope: TenantScope,
    filter: { guestId?: string | null; outcome?: string | null; type?: string | null },
    first: number,
    after: string | null,
  ): Promise<Page<TaskRow>> {
    const w = new Where().add('g.tenant_id = ?', scope.tenantId);
    if (filter.guestId) w.add('g.id = ?', filter.guestId);
    if (filter.outcome) w.add('t.outcome = ?', filter.outcome);
    if (filter.type) w.add('t.type = ?', filter.type);
    if (after) {
      const [ts, upid] = decodeCursor(after, ['timestamp', 'text']);
      w.add('(t.starttime, t.upid) < (?::timestamptz, ?)', ts, upid);
    }
    const rows = await em.execute<TaskRow[]>(
      `SELECT ${TASK_COLUMNS} FROM pve_task t
         JOIN guest g ON g.connection_id = t.connection_id AND g.vmid = t.vmid
         ${w} ORDER BY t.starttime DESC, t.upid DESC LIMIT ${first + 1}`,
      w.params,
    );
    const pageRows = rows.slice(0, first);
    return {
      rows: pageRows,
      cursors: pageRows.map((r) => encodeCursor([new Date(r.starttime).toISOString(), r.upid])),
      hasNextPage: rows.length > first,
    };
  }
}
