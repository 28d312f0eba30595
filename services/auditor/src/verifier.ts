// Verifies chains stored in Postgres. A failure is reported as AUDIT-001: the alert is opened at
// once and an `audit.verification_failed` event goes into the inbox (the auditor chains it), and
// the caller gets an AUDIT_CHAIN_BROKEN error or a failing report.
import { randomUUID, type KeyObject } from 'node:crypto';
import { ChainVerifier, keyIdOf, type VerificationReport } from '@tenantgate/audit-core';
import type { AlertNotification } from '@tenantgate/shared';
import { inSnapshot, inTransaction, type Db } from './db.ts';
import { AlertStore } from './alerts/store.ts';
import { chainVerificationFailed, verificationFailureSignal } from './alerts/rules/platform.ts';
import { systemClock, type Clock, type Severity } from './alerts/types.ts';
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

/**
 * Raises AUDIT-001 for a failed report, in one transaction: an `audit.verification_failed` inbox
 * event (the auditor chains it into the failed chain, where the rule fires too) and the alert
 * itself. The direct alert is what makes the raise reliable: some tampering (an inserted record
 * past the stored head, a rewritten head) leaves the chain unable to take the event, which then
 * ends in quarantine instead of the chain. The chained event later counts as another occurrence
 * of the same open alert. Returns the notifications to publish (the caller owns Redis).
 */
export async function raiseVerificationFailure(
  db: Db,
  report: VerificationReport,
  actor: string,
  clock: Clock = systemClock,
): Promise<AlertNotification[]> {
  const now = clock.now().toISOString();
  const codes = [...new Set(report.findings.map((f) => f.code))].sort();
  const findings = report.findings.slice(0, 20);
  return await inTransaction(db, async (tx) => {
    await insertInboxEvent(tx, {
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
      payload: { chainId: report.chainId, codes, findings },
    });
    const rules = await tx.query<{ id: string; code: string; severity: Severity; params: Record<string, unknown> }>(
      `SELECT id, code, severity, params FROM alert_rule WHERE kind = $1 AND tenant_id IS NULL AND enabled ORDER BY code`,
      [chainVerificationFailed.kind],
    );
    const store = new AlertStore(clock);
    const out: AlertNotification[] = [];
    for (const rule of rules.rows) {
      const forSeconds = Number(rule.params['forSeconds'] ?? 0);
      out.push(
        ...(await store.fire(
          tx,
          { id: rule.id, code: rule.code, forSeconds: Number.isFinite(forSeconds) ? forSeconds : 0 },
          report.tenantId,
          verificationFailureSignal(report.chainId, codes, findings, rule.severity),
          new Date(now),
        )),
      );
    }
    return out;
  });
}
