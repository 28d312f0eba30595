// Source cursors and the audit inbox. A source's inbox rows, its domain rows and its cursor are
// written in one transaction (GUIDE §4, fail closed): if anything fails, nothing advances. Each
// cursor carries a version `v`; a commit names the version it was computed from and fails with
// SYNC_CURSOR_CONFLICT when another poller advanced the source meanwhile.
import { AppError, ErrorCode, sha256, type AuditSourceEvent, type Em } from '@tenantgate/shared';
import { inTransaction, sqlOf, type Sql } from './sql.ts';

export type Cursor = { v: number } & Record<string, unknown>;

export interface CursorAdvance {
  source: string;
  /** The version the new cursor was computed from. */
  expected: number;
  /** The new cursor (without `v`, which the commit increments). */
  next: Record<string, unknown>;
}

export interface CommitResult {
  /** Inbox rows actually inserted (duplicates of earlier rows are skipped). */
  inserted: number;
  /** Names this commit (the advanced cursors and their new versions): the wake-up job id. */
  commitKey: string;
}

const INBOX_CHUNK = 2000;

/** Current cursors of a connection (all sources, or those whose name starts with `prefix`). */
export async function loadCursors(em: Em, connectionId: string, prefix = ''): Promise<Map<string, Cursor>> {
  const rows = await sqlOf(em).query<{ source: string; cursor: Record<string, unknown> }>(
    `SELECT source, cursor FROM sync_cursor WHERE connection_id = $1 AND starts_with(source, $2)`,
    [connectionId, prefix],
  );
  const out = new Map<string, Cursor>();
  for (const r of rows) out.set(r.source, { ...r.cursor, v: Number(r.cursor.v ?? 0) });
  return out;
}

export function cursorOf(cursors: Map<string, Cursor>, source: string): Cursor {
  return cursors.get(source) ?? { v: 0 };
}

/**
 * Commits source advances: locks the cursors, checks their versions, runs `writes` (domain rows),
 * inserts the events into the inbox and advances the cursors — all in one transaction.
 */
export async function commitSources(
  em: Em,
  connectionId: string,
  advances: CursorAdvance[],
  events: AuditSourceEvent[],
  writes?: (sql: Sql) => Promise<void>,
): Promise<CommitResult> {
  if (advances.length === 0 && events.length === 0) return { inserted: 0, commitKey: 'none' };
  return await inTransaction(em, async (sql) => {
    const sources = advances.map((a) => a.source);
    await sql.exec(
      `INSERT INTO sync_cursor (connection_id, source, cursor)
       SELECT $1, s, '{"v":0}'::jsonb FROM unnest($2::text[]) s ON CONFLICT DO NOTHING`,
      [connectionId, sources],
    );
    const locked = await sql.query<{ source: string; v: number }>(
      `SELECT source, COALESCE((cursor->>'v')::int, 0) AS v FROM sync_cursor
        WHERE connection_id = $1 AND source = ANY($2::text[]) ORDER BY source FOR UPDATE`,
      [connectionId, sources],
    );
    const current = new Map(locked.map((r) => [r.source, Number(r.v)]));
    for (const a of advances) {
      if (current.get(a.source) !== a.expected) {
        throw new AppError(ErrorCode.SYNC_CURSOR_CONFLICT, `cursor ${a.source} was advanced by another poller`, {
          source: a.source,
          expected: a.expected,
          found: current.get(a.source),
        });
      }
    }
    if (writes) await writes(sql);
    const inserted = await insertInbox(sql, events);
    if (advances.length > 0) {
      await sql.exec(
        `UPDATE sync_cursor c
            SET cursor = n.cursor || jsonb_build_object('v', COALESCE((c.cursor->>'v')::int, 0) + 1),
                last_attempt_at = now(), last_success_at = now(),
                last_error = NULL, last_error_code = NULL, consecutive_failures = 0
           FROM jsonb_to_recordset($2::jsonb) AS n(source text, cursor jsonb)
          WHERE c.connection_id = $1 AND c.source = n.source`,
        [connectionId, JSON.stringify(advances.map((a) => ({ source: a.source, cursor: a.next })))],
      );
    }
    const commitKey = sha256(
      advances
        .map((a) => `${a.source}@${a.expected + 1}`)
        .sort()
        .join(','),
    )
      .toString('hex')
      .slice(0, 20);
    return { inserted, commitKey };
  });
}

/** Inserts validated events; a dedup key already present is skipped (replays never duplicate). */
export async function insertInbox(sql: Sql, events: AuditSourceEvent[]): Promise<number> {
  let inserted = 0;
  for (let i = 0; i < events.length; i += INBOX_CHUNK) {
    const chunk = events.slice(i, i + INBOX_CHUNK);
    inserted += await sql.exec(
      `INSERT INTO audit_inbox (dedup_key, event_id, connection_id, source, occurred_at, observed_at, event)
       SELECT e->>'dedupKey', (e->>'eventId')::uuid, (e->>'connectionId')::uuid, e->>'source',
              (e->>'occurredAt')::timestamptz, (e->>'observedAt')::timestamptz, e
         FROM jsonb_array_elements($1::jsonb) AS e
       ON CONFLICT (dedup_key) DO NOTHING`,
      [JSON.stringify(chunk)],
    );
  }
  return inserted;
}

/** Records a failed attempt of sources (health); the cursors themselves do not move. */
export async function recordSourceFailures(
  em: Em,
  connectionId: string,
  failures: Array<{ source: string; code: string; message: string }>,
): Promise<void> {
  if (failures.length === 0) return;
  await sqlOf(em.fork()).exec(
    `INSERT INTO sync_cursor AS c (connection_id, source, cursor, last_attempt_at, last_error, last_error_code, consecutive_failures)
     SELECT $1, f.source, '{"v":0}'::jsonb, now(), f.message, f.code, 1
       FROM jsonb_to_recordset($2::jsonb) AS f(source text, code text, message text)
     ON CONFLICT (connection_id, source) DO UPDATE
        SET last_attempt_at = now(), last_error = EXCLUDED.last_error, last_error_code = EXCLUDED.last_error_code,
            consecutive_failures = c.consecutive_failures + 1`,
    [connectionId, JSON.stringify(failures.map((f) => ({ ...f, message: f.message.slice(0, 2000) })))],
  );
}

/** Marks sources as attempted and healthy without changing their cursors (nothing new to write). */
export async function recordSourceSuccess(em: Em, connectionId: string, sources: string[]): Promise<void> {
  if (sources.length === 0) return;
  await sqlOf(em.fork()).exec(
    `INSERT INTO sync_cursor AS c (connection_id, source, cursor, last_attempt_at, last_success_at)
     SELECT $1, s, '{"v":0}'::jsonb, now(), now() FROM unnest($2::text[]) s
     ON CONFLICT (connection_id, source) DO UPDATE
        SET last_attempt_at = now(), last_success_at = now(), last_error = NULL, last_error_code = NULL,
            consecutive_failures = 0`,
    [connectionId, sources],
  );
}
