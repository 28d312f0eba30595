// Verifies chains stored in Postgres. A failure is reported as AUDIT-001: an
// `audit.verification_failed` event goes into the inbox (the auditor chains it and fires the
// alert), and the caller gets an AUDIT_CHAIN_BROKEN error or a failing report.
import { randomUUID, type KeyObject } from 'node:crypto';
import { ChainVerifier, keyIdOf, type VerificationReport } from '@tenantgate/audit-core';
import type { Db } from './db.ts';
import { listChains, readCheckpoints, readRecords } from './chain-reader.ts';
import { insertInboxEvent } from './inbox-writer.ts';

export interface VerifyOptions {
  /** Verify one chain (tenant id or `provider`); all chains otherwise. */
  chainId?: string;
  publicKeys: readonly KeyObject[];
  /** Write an `audit.verification_failed` inbox event per failing chain (raises AUDIT-001). */
  raiseAlert?: boolean;
  actor?: string;
}

export async function verifyChains(db: Db, options: VerifyOptions): Promise<VerificationReport[]> {
  const keys = new Map(options.publicKeys.map((k) => [keyIdOf(k), k]));
  const reports: VerificationReport[] = [];
  for (const chain of await listChains(db, options.chainId)) {
    const checkpoints = await readCheckpoints(db, chain.chainId, chain.tenantId);
    const verifier = new ChainVerifier({
      chainId: chain.chainId,
      tenantId: chain.tenantId,
      publicKeys: keys,
      checkpoints,
      startSeq: chain.prunedThroughSeq + 1,
      checkpointsFromGenesis: true,
      expectedHead: { seq: chain.headSeq, hash: chain.headHash },
    });
    for await (const r of readRecords(db, chain.chainId, chain.prunedThroughSeq + 1)) verifier.add(r);
    const report = verifier.finish();
    reports.push(report);
    if (!report.ok && options.raiseAlert) {
      await insertInboxEvent(db, {
        eventId: randomUUID(),
        dedupKey: `audit-verify:${chain.chainId}:${randomUUID()}`,
        source: 'audit',
        connectionId: null,
        occurredAt: new Date().toISOString(),
        observedAt: new Date().toISOString(),
        category: 'audit',
        action: 'audit.verification_failed',
        outcome: 'failure',
        actor: { type: 'system', id: options.actor ?? 'verifier', principal: null },
        target: { type: 'audit-chain', id: chain.chainId, name: null, path: null },
        tenantIds: chain.tenantId ? [chain.tenantId] : [],
        detection: 'reported',
        payload: {
          chainId: chain.chainId,
          codes: [...new Set(report.findings.map((f) => f.code))],
          findings: report.findings.slice(0, 20),
        },
      });
    }
  }
  return reports;
}
