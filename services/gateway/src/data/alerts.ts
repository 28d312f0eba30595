import type { Em } from '@tenantgate/shared';
import { decodeCursor, encodeCursor } from '../graphql/relay.ts';
import type { Page } from './resources.ts';
import { Where } from './sql.ts';

/** Where an alert stream stands: the (xid, id) of the last alert_event row it read. */
export interface AlertStreamPosition {
  xid: string;
  id: string;
}

export const STREAM_START: AlertStreamPosition = { xid: '0', id: '0' };

export interface AlertEventRow {
  id: string;
  /** The writing transaction (xid8 as text). */
  xid: string;
  alert_id: string;
  tenant_id: string | null;
  from_state: string | null;
  to_state: string;
  at: Date;
  rule_code: string;
  severity: string;
  title: string;
}

export interface AlertRow {
  id: string;
  rule_id: string;
  rule_code: string;
  tenant_id: string | null;
  dedup_key: string;
  state: string;
  severity: string;
  title: string;
  summary: string;
  occurrences: number;
  first_seen_at: Date;
  last_seen_at: Date;
  acknowledged_at: Date | null;
  resolved_at: Date | null;
}

export interface AlertRuleRow {
  id: string;
  tenant_id: string | null;
  code: string;
  kind: string;
  name: string;
  severity: string;
  params: Record<string, unknown>;
  scope: Record<string, unknown>;
  enabled: boolean;
}

/** Alerts of one tenant (`tenantId`) or of the provider (`null`); the caller's scope decides which. */
export class AlertRepository {
  /**
   * Settled alert_event rows after a stream position, in (xid, id) order: the replay part of
   * alertStream. Only rows whose writing transaction is older than every transaction still in
   * flight are returned (`xid < pg_snapshot_xmin`): ids come from a sequence and commit out of
   * order, so a row still being written could otherwise land below a position already passed.
   * Settled rows only ever appear after every settled row already read, so nothing is skipped.
   */
  async eventsAfter(
    em: Em,
    tenantId: string | null,
    after: AlertStreamPosition,
    limit: number,
  ): Promise<AlertEventRow[]> {
    return await em.execute<AlertEventRow[]>(
      `SELECT e.id::text AS id, e.xid::text AS xid, e.alert_id, e.tenant_id, e.from_state, e.to_state, e.at, r.code AS rule_code,
              a.severity, a.title
         FROM alert_event e JOIN alert a ON a.id = e.alert_id JOIN alert_rule r ON r.id = a.rule_id
        WHERE e.tenant_id IS NOT DISTINCT FROM ?::uuid
          AND e.xid < pg_snapshot_xmin(pg_current_snapshot())
          AND (e.xid, e.id) > (?::xid8, ?::bigint)
        ORDER BY e.xid, e.id LIMIT ${Math.trunc(limit)}`,
      [tenantId, after.xid, after.id],
    );
  }

  /**
   * The stream position of a client's cursor (an alert_event id of this tenant). Never past a row
   * the client may not have seen: its own row's (xid, id) when that row is settled (as every
   * cursor the stream hands out is); otherwise — an id from elsewhere, or one with no row — the
   * earliest of the oldest in-flight transaction and the oldest writer of a later id. Replaying
   * from there may repeat events at or before the cursor, never skip one after it.
   */
  async positionOf(em: Em, tenantId: string | null, cursor: string): Promise<AlertStreamPosition> {
    const [row] = await em.execute<Array<{ xmin: string; exact_xid: string | null; above_xid: string | null }>>(
      `SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS xmin,
              (SELECT e.xid::text FROM alert_event e
                WHERE e.tenant_id IS NOT DISTINCT FROM ?::uuid AND e.id = ?::bigint) AS exact_xid,
              (SELECT min(e.xid)::text FROM alert_event e
                WHERE e.tenant_id IS NOT DISTINCT FROM ?::uuid AND e.id > ?::bigint) AS above_xid`,
      [tenantId, cursor, tenantId, cursor],
    );
    const xmin = BigInt(row!.xmin);
    if (row!.exact_xid !== null && BigInt(row!.exact_xid) < xmin) return { xid: row!.exact_xid, id: cursor };
    const above = row!.above_xid === null ? xmin : BigInt(row!.above_xid);
    const from = above < xmin ? above : xmin;
    // (from, 0) comes before every row whose writer is `from` or younger (ids start at 1).
    return { xid: from.toString(), id: '0' };
  }

  async page(
    em: Em,
    tenantId: string | null,
    filter: { state?: string | null; severity?: string | null },
    first: number,
    after: string | null,
  ): Promise<Page<AlertRow>> {
    const w = new Where().add('a.tenant_id IS NOT DISTINCT FROM ?::uuid', tenantId);
    if (filter.state) w.add('a.state = ?', filter.state);
    if (filter.severity) w.add('a.severity = ?', filter.severity);
    if (after) {
      const [ts, id] = decodeCursor(after, ['timestamp', 'uuid']);
      w.add('(a.created_at, a.id) < (?::timestamptz, ?::uuid)', ts, id);
    }
    const rows = await em.execute<Array<AlertRow & { created_at: Date }>>(
      `SELECT a.id, a.rule_id, r.code AS rule_code, a.tenant_id, a.dedup_key, a.state, a.severity, a.title, a.summary, a.occurrences,
              a.first_seen_at, a.last_seen_at, a.acknowledged_at, a.resolved_at, a.created_at
         FROM alert a JOIN alert_rule r ON r.id = a.rule_id ${w} ORDER BY a.created_at DESC, a.id DESC LIMIT ${first + 1}`,
      w.params,
    );
    const pageRows = rows.slice(0, first);
    return {
      rows: pageRows,
      cursors: pageRows.map((r) => encodeCursor([new Date(r.created_at).toISOString(), r.id])),
      hasNextPage: rows.length > first,
    };
  }

  async byId(em: Em, tenantId: string | null, id: string): Promise<AlertRow | undefined> {
    const rows = await em.execute<AlertRow[]>(
      `SELECT a.id, a.rule_id, r.code AS rule_code, a.tenant_id, a.dedup_key, a.state, a.severity, a.title, a.summary, a.occurrences,
              a.first_seen_at, a.last_seen_at, a.acknowledged_at, a.resolved_at
         FROM alert a JOIN alert_rule r ON r.id = a.rule_id WHERE a.id = ? AND a.tenant_id IS NOT DISTINCT FROM ?::uuid`,
      [id, tenantId],
    );
    return rows[0];
  }

  /** Moves an alert to `to` (acknowledged/resolved/silenced) and appends the alert_event; null if not found. */
  async transition(
    em: Em,
    tenantId: string | null,
    id: string,
    to: 'acknowledged' | 'resolved' | 'silenced',
    actorId: string,
    note: string | null,
  ): Promise<{ from: string; eventId: string } | null> {
    const cur = await em.execute<Array<{ state: string }>>(
      `SELECT state FROM alert WHERE id = ? AND tenant_id IS NOT DISTINCT FROM ?::uuid FOR UPDATE`,
      [id, tenantId],
    );
    if (!cur[0]) return null;
    const from = cur[0].state;
    await em.execute(
      `UPDATE alert SET state = ?, updated_at = now(),
              acknowledged_by = CASE WHEN ? = 'acknowledged' THEN ?::uuid ELSE acknowledged_by END,
              acknowledged_at = CASE WHEN ? = 'acknowledged' THEN now() ELSE acknowledged_at END,
              resolved_at = CASE WHEN ? = 'resolved' THEN now() ELSE resolved_at END
        WHERE id = ?`,
      [to, to, actorId, to, to, id],
    );
    const ev = await em.execute<Array<{ id: string }>>(
      `INSERT INTO alert_event (alert_id, tenant_id, from_state, to_state, actor_id, note) VALUES (?, ?, ?, ?, ?, ?) RETURNING id::text AS id`,
      [id, tenantId, from, to, actorId, note],
    );
    return { from, eventId: ev[0]!.id };
  }

  async rules(em: Em, tenantId: string): Promise<AlertRuleRow[]> {
    return await em.execute<AlertRuleRow[]>(
      `SELECT id, tenant_id, code, kind, name, severity, params, scope, enabled FROM alert_rule
        WHERE tenant_id = ? OR tenant_id IS NULL ORDER BY tenant_id NULLS FIRST, code`,
      [tenantId],
    );
  }
}
