import type { Em } from '@tenantgate/shared';
import type { TenantScope } from '../auth/authorization.ts';
import { decodeCursor, encodeCursor } from '../graphql/relay.ts';
import { likePattern, pgArray, Where } from './sql.ts';

export interface GuestRow {
  id: string;
  connection_id: string;
  connection_name: string;
  vmid: number;
  type: 'qemu' | 'lxc';
  node: string;
  name: string | null;
  status: string;
  pool: string | null;
  tags: string[];
  template: boolean;
  maxcpu: number | null;
  maxmem: string | null;
  maxdisk: string | null;
  uptime: string | null;
  tenant_id: string | null;
  last_seen_at: Date;
}

export interface GuestFilter {
  connectionIds?: string[] | null;
  node?: string | null;
  type?: 'qemu' | 'lxc' | null;
  status?: string | null;
  tag?: string | null;
  pool?: string | null;
  name?: string | null;
}

export type GuestSortField = 'NAME' | 'VMID' | 'STATUS' | 'NODE';
export interface GuestSort {
  field: GuestSortField;
  direction: 'ASC' | 'DESC';
}

const SORT_EXPR: Record<GuestSortField, string> = {
  NAME: `COALESCE(g.name, '')`,
  VMID: 'g.vmid',
  STATUS: 'g.status',
  NODE: 'g.node',
};

export interface Page<T> {
  rows: T[];
  cursors: string[];
  hasNextPage: boolean;
}

const GUEST_COLUMNS = `g.id, g.connection_id, c.name AS connection_name, g.vmid, g.type, g.node, g.name, g.status, g.pool, g.tags,
  g.template, g.maxcpu, g.maxmem, g.maxdisk, g.uptime, g.tenant_id, g.last_seen_at`;

/**
 * Guests of a tenant. Every statement carries `g.tenant_id = ?` from a TenantScope; `unscoped` is
 * only for the benchmark's baseline (the same SQL without the tenant predicate).
 */
export class ResourceRepository {
  async page(
    em: Em,
    scope: TenantScope | 'unscoped',
    filter: GuestFilter,
    sort: GuestSort,
    first: number,
    after: string | null,
  ): Promise<Page<GuestRow>> {
    const w = new Where().add('g.deleted_at IS NULL');
    if (scope !== 'unscoped') w.add('g.tenant_id = ?', scope.tenantId);
    if (filter.connectionIds?.length) w.add(`g.connection_id = ANY(?::uuid[])`, pgArray(filter.connectionIds));
    if (filter.node) w.add('g.node = ?', filter.node);
    if (filter.type) w.add('g.type = ?', filter.type);
    if (filter.status) w.add('g.status = ?', filter.status);
    if (filter.tag) w.add('? = ANY(g.tags)', filter.tag);
    if (filter.pool) w.add('g.pool = ?', filter.pool);
    if (filter.name) w.add(`g.name ILIKE ? ESCAPE '\\'`, likePattern(filter.name));
    const expr = SORT_EXPR[sort.field];
    const op = sort.direction === 'ASC' ? '>' : '<';
    if (after) {
      const [key, id] = decodeCursor(after, [sort.field === 'VMID' ? 'int' : 'text', 'uuid']);
      w.add(`(${expr}, g.id) ${op} (?, ?::uuid)`, key, id);
    }
    const rows = await em.execute<Array<GuestRow & { sort_key: string | number }>>(
      `SELECT ${GUEST_COLUMNS}, ${expr} AS sort_key
         FROM guest g JOIN pve_connection c ON c.id = g.connection_id
         ${w} ORDER BY ${expr} ${sort.direction}, g.id ${sort.direction} LIMIT ${first + 1}`,
      w.params,
    );
    const hasNextPage = rows.length > first;
    const pageRows = rows.slice(0, first);
    return { rows: pageRows, cursors: pageRows.map((r) => encodeCursor([r.sort_key, r.id])), hasNextPage };
  }

  /** Guests by id within the scope (the loader behind `node`/`resource`). */
  async byIds(em: Em, scope: TenantScope, ids: readonly string[]): Promise<GuestRow[]> {
    return await em.execute<GuestRow[]>(
      `SELECT ${GUEST_COLUMNS} FROM guest g JOIN pve_connection c ON c.id = g.connection_id
        WHERE g.tenant_id = ? AND g.deleted_at IS NULL AND g.id = ANY(?::uuid[])`,
      [scope.tenantId, pgArray(ids)],
    );
  }
}
