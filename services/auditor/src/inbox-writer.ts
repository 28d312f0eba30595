import { AuditSourceEvent, parseContract, type AuditSourceEventInput } from '@tenantgate/shared';
import type { Db, Tx } from './db.ts';

/**
 * Writes one event into the audit inbox (the auditor's own events: verification failures,
 * exports, retention, redaction). Idempotent by dedup key. The sweeper picks it up.
 */
export async function insertInboxEvent(db: Db | Tx, input: AuditSourceEventInput): Promise<boolean> {
  const e = parseContract('AuditSourceEvent', AuditSourceEvent, input);
  const res = await db.query(
    `INSERT INTO audit_inbox (dedup_key, event_id, connection_id, source, occurred_at, observed_at, event)
     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING`,
    [e.dedupKey, e.eventId, e.connectionId, e.source, e.occurredAt, e.observedAt, JSON.stringify(e)],
  );
  return (res.rowCount ?? 0) > 0;
}
