// Compliance export: the records of one chain whose occurred_at lies in [from, to), plus the
// context records and checkpoints that link them to signatures, verified at export time. The
// export itself is audited (an `audit.exported` event in the same chain).
import { randomUUID, type KeyObject } from 'node:crypto';
import type { AuditBundle } from '@tenantgate/audit-core';
import { AppError } from '@tenantgate/shared';
import { inTransaction, type Db } from './db.ts';
import { chainReader } from './chain-reader.ts';
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
    const bundle = await chainReader(tx).bundle({
      chainId: options.chainId,
      from: options.from,
      to: options.to,
      exportedAt: new Date().toISOString(),
      exportedBy: options.exportedBy,
      publicKeys: options.publicKeys,
    });
    if (!bundle) throw AppError.notFound('Audit chain');
    return bundle;
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
