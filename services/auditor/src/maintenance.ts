// The only two routines allowed to change audit rows, each inside its own transaction with its
// session flag set (the audit_guard trigger refuses everything else), and each audited: the
// `audit.payload_redacted` / `audit.retention_pruned` event is written to the inbox in the same
// transaction, so the change and its audit record commit together.
import { randomUUID } from 'node:crypto';
import { AppError } from '@tenantgate/shared';
import { inTransaction, type Db, type Tx } from './db.ts';
import { insertInboxEvent } from './inbox-writer.ts';

async function selfAudit(
  tx: Tx,
  tenantId: string | null,
  chainId: string,
  action: string,
  actor: string | null,
  payload: Record<string, unknown>,
): Promise<void> {
  const now = new Date().toISOString();
  await insertInboxEvent(tx, {
    eventId: randomUUID(),
    dedupKey: `${action}:${chainId}:${randomUUID()}`,
    source: 'audit',
    connectionId: null,
    occurredAt: now,
    observedAt: now,
    category: 'audit',
    action,
    outcome: 'success',
    actor: { type: actor ? 'portal-user' : 'system', id: actor, principal: null },
    target: { type: 'audit-chain', id: chainId, name: null, path: null },
    tenantIds: tenantId ? [tenantId] : [],
    detection: 'reported',
    payload,
  });
}

/** Removes a record's payload; its digest (and so the chain) stays intact. */
export async function redactRecord(
  db: Db,
  o: { chainId: string; seq: number; reason: string; actor: string | null },
): Promise<boolean> {
  if (o.reason.trim() === '') throw AppError.badInput('a redaction needs a reason');
  return await inTransaction(db, async (tx) => {
    await tx.query(`SELECT set_config('tenantgate.audit_redaction', 'on', true)`);
    const res = await tx.query<{ tenant_id: string | null }>(
      `UPDATE audit_record SET payload = NULL, redacted_at = now() WHERE chain_id = $1 AND seq = $2 AND payload IS NOT NULL RETURNING tenant_id`,
      [o.chainId, o.seq],
    );
    await tx.query(`SELECT set_config('tenantgate.audit_redaction', 'off', true)`);
    const row = res.rows[0];
    if (!row) return false;
    await selfAudit(tx, row.tenant_id, o.chainId, 'audit.payload_redacted', o.actor, {
      chainId: o.chainId,
      seq: o.seq,
      reason: o.reason,
    });
    return true;
  });
}

export interface PruneResult {
  prunedThroughSeq: number;
  deleted: number;
}

/**
 * Deletes records recorded before `before`, but only whole ranges ending at a signed checkpoint:
 * the chain then starts right after that checkpoint, which anchors it.
 */
export async function pruneChain(
  db: Db,
  o: { chainId: string; before: Date; actor: string | null },
): Promise<PruneResult> {
  return await inTransaction(db, async (tx) => {
    const chain = await tx.query<{ tenant_id: string | null; pruned: string; head: string }>(
      `SELECT tenant_id, pruned_through_seq AS pruned, head_seq AS head FROM audit_chain WHERE chain_id = $1 FOR UPDATE`,
      [o.chainId],
    );
    const c = chain.rows[0];
    if (!c) throw AppError.notFound('Audit chain');
    const pruned = Number(c.pruned);
    const target = await tx.query<{ seq: string | null }>(
      `SELECT max(seq) AS seq FROM audit_checkpoint WHERE chain_id = $1 AND seq > $2
         AND seq < COALESCE((SELECT min(seq) FROM audit_record WHERE chain_id = $1 AND recorded_at >= $3), $4::bigint + 1)`,
      [o.chainId, pruned, o.before, Number(c.head)],
    );
    const through = target.rows[0]?.seq ? Number(target.rows[0].seq) : null;
    if (through === null) return { prunedThroughSeq: pruned, deleted: 0 };
    await tx.query(`SELECT set_config('tenantgate.audit_retention', 'on', true)`);
    const del = await tx.query(`DELETE FROM audit_record WHERE chain_id = $1 AND seq > $2 AND seq <= $3`, [
      o.chainId,
      pruned,
      through,
    ]);
    await tx.query(`SELECT set_config('tenantgate.audit_retention', 'off', true)`);
    await tx.query(`UPDATE audit_chain SET pruned_through_seq = $2 WHERE chain_id = $1`, [o.chainId, through]);
    const deleted = del.rowCount ?? 0;
    await selfAudit(tx, c.tenant_id, o.chainId, 'audit.retention_pruned', o.actor, {
      chainId: o.chainId,
      fromSeq: pruned + 1,
      throughSeq: through,
      deleted,
      before: o.before.toISOString(),
    });
    return { prunedThroughSeq: through, deleted };
  });
}
