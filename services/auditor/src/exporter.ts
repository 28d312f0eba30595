// Compliance export: the records of one chain whose occurred_at lies in [from, to), plus the
// context records and checkpoints that link them to signatures, verified at export time. The
// export itself is audited (an `audit.exported` event in the same chain).
import { randomUUID, type KeyObject } from 'node:crypto';
import { createBundle, isoMillis, type AuditBundle, type ChainRecord } from '@tenantgate/audit-core';
import { AppError } from '@tenantgate/shared';
import { inTransaction, type Db } from './db.ts';
import { listChains, readCheckpoints, readRecords } from './chain-reader.ts';
import { insertInboxEvent } from './inbox-writer.ts';

export interface ExportOptions {
  chainId: string;
  from: Date;
  to: Date;
  publicKeys: readonly KeyObject[];
  exportedBy: string | null;
  /** Written into the audit event of the export (e.g. "cli", a portal user id). */
  actorType?: 'portal-user' | 'system';
}

export async function exportBundle(db: Db, options: ExportOptions): Promise<AuditBundle> {
  if (!(options.from < options.to)) throw AppError.badInput('export range: from must be before to');
  // REPEATABLE READ: records, checkpoints and head come from one snapshot
  return await inTransaction(db, async (tx) => {
    await tx.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const chain = (await listChains(tx, options.chainId))[0];
    if (!chain) throw AppError.notFound('Audit chain');
    const range = await tx.query<{ lo: string | null; hi: string | null }>(
      `SELECT min(seq) AS lo, max(seq) AS hi FROM audit_record WHERE chain_id = $1 AND occurred_at >= $2 AND occurred_at < $3`,
      [chain.chainId, options.from, options.to],
    );
    const a = range.rows[0]?.lo ? Number(range.rows[0].lo) : null;
    const b = range.rows[0]?.hi ? Number(range.rows[0].hi) : null;
    const records: ChainRecord[] = [];
    let checkpoints: Awaited<ReturnType<typeof readCheckpoints>> = [];
    if (a !== null && b !== null) {
      const all = await readCheckpoints(tx, chain.chainId, chain.tenantId);
      const anchor = all.filter((c) => c.seq < a && c.seq >= chain.prunedThroughSeq).at(-1);
      const cover = all.find((c) => c.seq >= b);
      const lo = anchor ? anchor.seq + 1 : chain.prunedThroughSeq + 1;
      const hi = cover ? cover.seq : chain.headSeq;
      for await (const r of readRecords(tx, chain.chainId, lo, hi)) records.push(r);
      checkpoints = all.filter((c) => c.seq >= lo - 1 && c.seq <= hi);
    }
    return createBundle({
      chainId: chain.chainId,
      tenantId: chain.tenantId,
      from: isoMillis(options.from),
      to: isoMillis(options.to),
      exportedAt: new Date().toISOString(),
      exportedBy: options.exportedBy,
      records,
      checkpoints,
      publicKeys: options.publicKeys,
    });
  }).then(async (bundle) => {
    const now = new Date().toISOString();
    await insertInboxEvent(db, {
      eventId: randomUUID(),
      dedupKey: `audit-export:${randomUUID()}`,
      source: 'audit',
      connectionId: null,
      occurredAt: now,
      observedAt: now,
      category: 'audit',
      action: 'audit.exported',
      outcome: 'success',
      actor: { type: options.actorType ?? 'system', id: options.exportedBy, principal: null },
      target: { type: 'audit-chain', id: bundle.header.chainId, name: null, path: null },
      tenantIds: bundle.header.tenantId ? [bundle.header.tenantId] : [],
      detection: 'reported',
      payload: {
        from: bundle.header.from,
        to: bundle.header.to,
        fromSeq: bundle.header.fromSeq,
        toSeq: bundle.header.toSeq,
        selectedRecords: bundle.verification?.selectedRecords ?? 0,
        verified: bundle.verification?.ok ?? false,
      },
    });
    return bundle;
  });
}
