// Rows that describe what tenants own and what portal users may do, for before/after comparisons.
// Columns that change by themselves (sync timestamps, login counters, alert timers) are left out.
import type pg from 'pg';

/**
 * State of `tenantIds` (null: every tenant) plus the provider-level rows (tenants, connections).
 * `exceptUser`: a user whose own credentials (sessions, API tokens) may legitimately change.
 */
export async function stateRows(sql: pg.Client, tenantIds: string[] | null, exceptUser?: string): Promise<string[]> {
  const q = `
    WITH t AS (SELECT id FROM tenant WHERE $1::uuid[] IS NULL OR id = ANY($1::uuid[])),
         u AS (SELECT DISTINCT m.user_id AS id FROM membership m JOIN t ON t.id = m.tenant_id
               UNION SELECT id FROM portal_user WHERE $1::uuid[] IS NULL)
    SELECT 'tenant ' || row(x.id, x.slug, x.name, x.locked, x.deleted_at)::text AS r FROM tenant x
    UNION ALL SELECT 'membership ' || row(m.user_id, m.tenant_id, m.role, m.privileges)::text
      FROM membership m WHERE m.tenant_id IN (SELECT id FROM t)
    UNION ALL SELECT 'user ' || row(p.id, p.username, p.password_hash, p.disabled, p.is_portal_admin, p.is_compliance_auditor, p.expires_at)::text
      FROM portal_user p WHERE p.id IN (SELECT id FROM u)
    UNION ALL SELECT 'token ' || row(k.id, k.user_id, k.name, k.token_hash, k.privileges, k.expires_at, k.revoked_at)::text
      FROM portal_api_token k WHERE k.user_id IN (SELECT id FROM u) AND k.user_id IS DISTINCT FROM $2::uuid
    UNION ALL SELECT 'session ' || row(s.id, s.user_id, s.revoked_at)::text
      FROM portal_session s WHERE s.user_id IN (SELECT id FROM u) AND s.user_id IS DISTINCT FROM $2::uuid
    UNION ALL SELECT 'alert ' || row(a.id, a.acknowledged_by, a.acknowledged_at)::text
      FROM alert a WHERE a.tenant_id IN (SELECT id FROM t) AND a.acknowledged_by IS NOT NULL
    UNION ALL SELECT 'alert_event ' || row(e.id, e.alert_id, e.to_state, e.actor_id, e.note)::text
      FROM alert_event e WHERE e.tenant_id IN (SELECT id FROM t) AND e.actor_id IS NOT NULL
    UNION ALL SELECT 'alert_rule ' || row(r.id, r.code, r.kind, r.name, r.severity, r.params, r.scope, r.enabled)::text
      FROM alert_rule r WHERE r.tenant_id IN (SELECT id FROM t) OR r.tenant_id IS NULL
    UNION ALL SELECT 'assignment ' || row(a.id, a.tenant_id, a.connection_id, a.kind, a.vmid, a.pool, a.valid_to)::text
      FROM assignment a WHERE a.tenant_id IN (SELECT id FROM t)
    UNION ALL SELECT 'guest ' || row(g.id, g.connection_id, g.vmid, g.tenant_id)::text
      FROM guest g WHERE g.tenant_id IN (SELECT id FROM t)
    UNION ALL SELECT 'portal_action ' || row(p.request_id, p.user_id, p.vmid, p.action, p.upid)::text
      FROM portal_action p WHERE p.tenant_id IN (SELECT id FROM t)
    UNION ALL SELECT 'portal_task ' || row(k.upid, k.portal_user_id, k.portal_tenant_id)::text
      FROM pve_task k JOIN guest g ON g.connection_id = k.connection_id AND g.vmid = k.vmid
      WHERE g.tenant_id IN (SELECT id FROM t) AND k.portal_user_id IS NOT NULL
    UNION ALL SELECT 'connection ' || row(c.id, c.name, c.base_url, c.fingerprint, c.token_id, c.secret_enc, c.poll_interval_ms, c.enabled)::text
      FROM pve_connection c`;
  const { rows } = await sql.query<{ r: string }>(q, [tenantIds, exceptUser ?? null]);
  return rows.map((x) => x.r).sort();
}

/** Rows only in `before` (removed or changed) and only in `after` (added or changed). */
export function diffRows(before: string[], after: string[]): { gone: string[]; added: string[] } {
  const a = new Set(after);
  const b = new Set(before);
  return { gone: before.filter((r) => !a.has(r)), added: after.filter((r) => !b.has(r)) };
}
