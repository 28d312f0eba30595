import type { Em } from '@tenantgate/shared';
import { pgArray } from './sql.ts';

export interface TenantRow {
  id: string;
  slug: string;
  name: string;
  locked: boolean;
  created_at: Date;
}

export interface ConnectionRow {
  id: string;
  name: string;
  base_url: string;
  fingerprint: string | null;
  token_id: string;
  enabled: boolean;
  poll_interval_ms: number;
  last_success_at: Date | null;
  last_error: string | null;
  last_error_code: string | null;
  consecutive_failures: number | null;
}

const TENANT_COLUMNS = 'id, slug, name, locked, created_at';

/** Tenants and PVE connections (the provider's view; callers filter by what authorization allows). */
export class TenantRepository {
  async byIds(em: Em, ids: readonly string[]): Promise<TenantRow[]> {
    return await em.execute<TenantRow[]>(
      `SELECT ${TENANT_COLUMNS} FROM tenant WHERE deleted_at IS NULL AND id = ANY(?::uuid[])`,
      [pgArray(ids)],
    );
  }

  async all(em: Em): Promise<TenantRow[]> {
    return await em.execute<TenantRow[]>(`SELECT ${TENANT_COLUMNS} FROM tenant WHERE deleted_at IS NULL ORDER BY slug`);
  }

  async create(em: Em, slug: string, name: string): Promise<TenantRow | null> {
    const rows = await em.execute<TenantRow[]>(
      `INSERT INTO tenant (slug, name) VALUES (?, ?) ON CONFLICT (slug) DO NOTHING RETURNING ${TENANT_COLUMNS}`,
      [slug, name],
    );
    return rows[0] ?? null;
  }

  async update(
    em: Em,
    id: string,
    patch: { name?: string | null; locked?: boolean | null },
  ): Promise<TenantRow | null> {
    const rows = await em.execute<TenantRow[]>(
      `UPDATE tenant SET name = COALESCE(?, name), locked = COALESCE(?, locked), updated_at = now()
        WHERE id = ? AND deleted_at IS NULL RETURNING ${TENANT_COLUMNS}`,
      [patch.name ?? null, patch.locked ?? null, id],
    );
    return rows[0] ?? null;
  }

  async softDelete(em: Em, id: string): Promise<boolean> {
    const rows = await em.execute<Array<{ id: string }>>(
      `UPDATE tenant SET deleted_at = now(), updated_at = now() WHERE id = ? AND deleted_at IS NULL RETURNING id`,
      [id],
    );
    return rows.length > 0;
  }

  /** Connections with their sync health (worst source cursor). `tenantId` limits to connections assigned to it. */
  async connections(em: Em, tenantId: string | null): Promise<ConnectionRow[]> {
    return await em.execute<ConnectionRow[]>(
      `SELECT c.id, c.name, c.base_url, c.fingerprint, c.token_id, c.enabled, c.poll_interval_ms,
              h.last_success_at, h.last_error, h.last_error_code, h.consecutive_failures
         FROM pve_connection c
         LEFT JOIN LATERAL (
           SELECT min(s.last_success_at) AS last_success_at, max(s.consecutive_failures) AS consecutive_failures,
                  (array_agg(s.last_error ORDER BY s.last_attempt_at DESC NULLS LAST) FILTER (WHERE s.last_error IS NOT NULL))[1] AS last_error,
                  (array_agg(s.last_error_code ORDER BY s.last_attempt_at DESC NULLS LAST) FILTER (WHERE s.last_error_code IS NOT NULL))[1] AS last_error_code
             FROM sync_cursor s WHERE s.connection_id = c.id) h ON true
        WHERE ?::uuid IS NULL OR EXISTS (SELECT 1 FROM assignment a WHERE a.connection_id = c.id AND a.tenant_id = ?::uuid AND a.valid_to IS NULL)
        ORDER BY c.name`,
      [tenantId, tenantId],
    );
  }
}
