// Connection health (GUIDE §5 SYNC-001). The `connection` row of sync_cursor holds the outcome of
// the last polls; a change between healthy and unhealthy is written with a `sync.*` event in the
// same transaction, so the signal is raised exactly once per transition. Per-source health is the
// rest of sync_cursor (last success, last error, consecutive failures).
import { buildEvent, dedupKey } from './events.ts';
import { insertInbox } from './store.ts';
import { inTransaction, sqlOf } from './sql.ts';
import type { SourceFailure } from './source-context.ts';
import { ErrorCode, type Em } from '@tenantgate/shared';

export const CONNECTION_SOURCE = 'connection';

/** Errors that mean the connection as a whole is unusable (the other sources are not tried). */
export const CONNECTION_LEVEL_CODES = new Set<string>([
  ErrorCode.PVE_UNREACHABLE,
  ErrorCode.PVE_TLS_FINGERPRINT_MISMATCH,
  ErrorCode.PVE_AUTH_FAILED,
  ErrorCode.SYNC_CONNECTION_INVALID,
]);

export interface HealthTransition {
  healthy: boolean;
  changed: boolean;
  inserted: number;
  /** Number of health transitions so far (names the wake-up job). */
  transitions: number;
}

/** Records one poll's outcome for the connection; emits sync.unreachable / sync.recovered on a change. */
export async function recordPollHealth(
  em: Em,
  connectionId: string,
  failures: SourceFailure[],
  observed: Date,
): Promise<HealthTransition> {
  const healthy = failures.length === 0;
  return await inTransaction(em, async (sql) => {
    await sql.exec(
      `INSERT INTO sync_cursor (connection_id, source, cursor) VALUES ($1, $2, '{"v":0}') ON CONFLICT DO NOTHING`,
      [connectionId, CONNECTION_SOURCE],
    );
    const [row] = await sql.query<{ cursor: { v?: number; healthy?: boolean; transitions?: number } }>(
      `SELECT cursor FROM sync_cursor WHERE connection_id = $1 AND source = $2 FOR UPDATE`,
      [connectionId, CONNECTION_SOURCE],
    );
    const prev = row?.cursor ?? {};
    // The first poll of a connection reports only when it fails.
    const changed = prev.healthy === undefined ? !healthy : prev.healthy !== healthy;
    const transitions = (prev.transitions ?? 0) + (changed ? 1 : 0);
    let inserted = 0;
    if (changed) {
      const event = buildEvent(
        {
          dedupKey: dedupKey(connectionId, 'health', transitions),
          source: 'sync',
          connectionId,
          occurredAt: observed.toISOString(),
          category: 'sync',
          action: healthy ? 'sync.recovered' : 'sync.unreachable',
          outcome: healthy ? 'success' : 'failure',
          actor: { type: 'system', id: null, principal: null },
          target: { type: 'pve-connection', id: connectionId, name: null, path: null },
          detection: 'reported',
          payload: {
            rule: 'SYNC-001',
            // The auditor's SYNC-001 rule keys on `sync.unreachable`; `partial` tells a connection that
            // answers but with a failing source from one that does not answer at all.
            partial: failures.length > 0 && !failures.some((f) => CONNECTION_LEVEL_CODES.has(f.code)),
            failures: failures.map((f) => ({ source: f.source, code: f.code, message: f.message.slice(0, 500) })),
          },
        },
        observed,
      );
      inserted = await insertInbox(sql, [event]);
    }
    const first = failures[0];
    await sql.exec(
      `UPDATE sync_cursor
          SET cursor = $3::jsonb, last_attempt_at = now(),
              last_success_at = CASE WHEN $4::boolean THEN now() ELSE last_success_at END,
              last_error = $5, last_error_code = $6,
              consecutive_failures = CASE WHEN $4::boolean THEN 0 ELSE consecutive_failures + 1 END
        WHERE connection_id = $1 AND source = $2`,
      [
        connectionId,
        CONNECTION_SOURCE,
        JSON.stringify({ v: (prev.v ?? 0) + 1, healthy, transitions }),
        healthy,
        first ? `${first.source}: ${first.message}`.slice(0, 2000) : null,
        first?.code ?? null,
      ],
    );
    return { healthy, changed, inserted, transitions };
  });
}

export interface SourceHealth {
  source: string;
  lastAttemptAt: Date | null;
  lastSuccessAt: Date | null;
  /** Milliseconds since the last success (null: never succeeded). */
  lagMs: number | null;
  lastError: string | null;
  lastErrorCode: string | null;
  consecutiveFailures: number;
}

export interface ConnectionHealth extends Omit<SourceHealth, 'source'> {
  connectionId: string;
  name: string;
  enabled: boolean;
  pollIntervalMs: number;
  /** Last poll succeeded and the last success is younger than 3 poll intervals (SYNC-001). */
  healthy: boolean;
  sources: SourceHealth[];
}

interface HealthRow {
  connection_id: string;
  name: string;
  enabled: boolean;
  poll_interval_ms: number;
  source: string | null;
  last_attempt_at: Date | string | null;
  last_success_at: Date | string | null;
  last_error: string | null;
  last_error_code: string | null;
  consecutive_failures: number | null;
}

/** Health of every connection (or one), for the gateway and the CLI. */
export async function readSyncHealth(
  em: Em,
  opts: { connectionId?: string; now?: Date } = {},
): Promise<ConnectionHealth[]> {
  const now = (opts.now ?? new Date()).getTime();
  const rows = await sqlOf(em).query<HealthRow>(
    `SELECT c.id AS connection_id, c.name, c.enabled, c.poll_interval_ms, s.source, s.last_attempt_at, s.last_success_at,
            s.last_error, s.last_error_code, s.consecutive_failures
       FROM pve_connection c LEFT JOIN sync_cursor s ON s.connection_id = c.id
      WHERE ($1::uuid IS NULL OR c.id = $1::uuid)
      ORDER BY c.name, s.source`,
    [opts.connectionId ?? null],
  );
  const out = new Map<string, ConnectionHealth>();
  const lag = (d: Date | null): number | null => (d ? Math.max(0, now - d.getTime()) : null);
  // The raw driver returns timestamps as text.
  const date = (v: Date | string | null): Date | null => (v === null ? null : new Date(v));
  for (const raw of rows) {
    const r = { ...raw, last_attempt_at: date(raw.last_attempt_at), last_success_at: date(raw.last_success_at) };
    let c = out.get(r.connection_id);
    if (!c) {
      c = {
        connectionId: r.connection_id,
        name: r.name,
        enabled: r.enabled,
        pollIntervalMs: r.poll_interval_ms,
        healthy: false,
        lastAttemptAt: null,
        lastSuccessAt: null,
        lagMs: null,
        lastError: null,
        lastErrorCode: null,
        consecutiveFailures: 0,
        sources: [],
      };
      out.set(r.connection_id, c);
    }
    if (r.source === null) continue;
    const h: SourceHealth = {
      source: r.source,
      lastAttemptAt: r.last_attempt_at,
      lastSuccessAt: r.last_success_at,
      lagMs: lag(r.last_success_at),
      lastError: r.last_error,
      lastErrorCode: r.last_error_code,
      consecutiveFailures: r.consecutive_failures ?? 0,
    };
    if (r.source === CONNECTION_SOURCE) {
      Object.assign(c, { ...h, source: undefined });
      delete (c as Partial<SourceHealth>).source;
      c.healthy = h.consecutiveFailures === 0 && h.lagMs !== null && h.lagMs <= 3 * r.poll_interval_ms;
    } else c.sources.push(h);
  }
  return [...out.values()];
}

/** Whether a failing connection should skip this scheduled poll (exponential back-off). */
export function inBackoff(
  health: { consecutiveFailures: number; lastAttemptAt: Date | null },
  intervalMs: number,
  maxMs: number,
  now: Date,
): boolean {
  if (health.consecutiveFailures === 0 || !health.lastAttemptAt) return false;
  const wait = Math.min(maxMs, intervalMs * 2 ** Math.min(health.consecutiveFailures - 1, 20));
  // One interval has already passed when the next scheduled job runs.
  return now.getTime() - health.lastAttemptAt.getTime() < wait - intervalMs / 2;
}
