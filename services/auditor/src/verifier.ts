// Verifies chains stored in Postgres. A failure is reported as AUDIT-001: an
// `audit.verification_failed` event goes into the inbox (the auditor chains it and fires the
// alert), and the caller gets an AUDIT_CHAIN_BROKEN error or a failing report.
import { randomUUID, type KeyObject } from 'node:crypto';
import { ChainVerifier, keyIdOf, type VerificationReport } from '@tenantgate/audit-core';
import { inSnapshot, type Db } from './db.ts';
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
  for (const listed of await listChains(db, options.chainId)) {
    // one snapshot per chain: appends running meanwhile neither add records beyond the head read
    // nor checkpoints beyond the records read
    const report = await inSnapshot(db, async (tx) => {
      const [chain] = await listChains(tx, listed.chainId);
      if (!chain) throw new Error(`chain ${listed.chainId} vanished`);
      const checkpoints = await readCheckpoints(tx, chain.chainId, chain.tenantId);
      const verifier = new ChainVerifier({
        chainId: chain.chainId,
        tenantId: chain.tenantId,
        publicKeys: keys,
        checkpoints,
        startSeq: chain.prunedThroughSeq + 1,
        checkpointsFromGenesis: true,
        expectedHead: { seq: chain.headSeq, hash: chain.headHash },
      });
      for await (const r of readRecords(tx, chain.chainId, chain.prunedThroughSeq + 1)) verifier.add(r);
      return verifier.finish();
    });
    reports.push(report);
    if (!report.ok && options.raiseAlert) await raiseVerificationFailure(db, report, options.actor ?? 'verifier');
  }
  return reports;
}

/** Writes an `audit.verification_failed` inbox event for a failed report; the auditor chains it and AUDIT-001 fires. */
export async function raiseVerificationFailure(db: Db, report: VerificationReport, actor: string): Promise<void> {
  const now = new Date().toISOString();
  await insertInboxEvent(db, {
    eventId: randomUUID(),
    dedupKey: `audit-verify:${report.chainId}:${randomUUID()}`,
    source: 'audit',
    connectionId: null,
    occurredAt: now,
    observedAt: now,
    category: 'audit',
    action: 'audit.verification_failed',
    outcome: 'failure',
    actor: { type: 'system', id: actor, principal: null },
    target: { type: 'audit-chain', id: report.chainId, name: null, path: null },
    tenantIds: report.tenantId ? [report.tenantId] : [],
    detection: 'reported',
    payload: {
      chainId: report.chainId,
      codes: [...new Set(report.findings.map((f) => f.code))].sort(),
      findings: report.findings.slice(0, 20),
    },
  });
}
