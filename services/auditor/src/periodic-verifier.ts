// The service's own chain verification (VERIFY_INTERVAL_MS), incremental: each chain is verified
// from the last signed checkpoint an earlier run verified (audit_verify_state) to the head, not
// from genesis. The anchor itself is re-checked each run (its checkpoint still stored unchanged,
// the record at its seq still hashing to the signed head), so replacing or deleting the verified
// checkpoint or editing the record it signed is found too; older records are covered by the full
// verification (`tenantgate audit verify`). A finding raises AUDIT-001 (the alert at once, published,
// plus an inbox event for the chain; never auto-resolved); the same set of finding codes on a chain
// is raised once, not every run.
import type { KeyObject } from 'node:crypto';
import {
  ChainVerifier,
  keyIdOf,
  recordHash,
  type CheckpointAnchor,
  type Finding,
  type VerificationReport,
} from '@tenantgate/audit-core';
import type { AlertNotification, Logger } from '@tenantgate/shared';
import { systemClock, type Clock } from './alerts/types.ts';
import { inSnapshot, type Db } from './db.ts';
import { listChains, readCheckpoints, readRecords } from './chain-reader.ts';
import { raiseVerificationFailure } from './verifier.ts';

/** One advisory lock: two auditor processes do not verify at the same time. */
const LOCK_SQL = `hashtext('tenantgate.audit.periodic-verify')`;

export interface PeriodicVerificationResult {
  chains: number;
  recordsChecked: number;
  /** Chains with findings in this run. */
  failed: string[];
  /** Chains whose findings raised AUDIT-001 in this run (new or changed findings). */
  raised: string[];
  reports: VerificationReport[];
}

interface StateRow {
  checkpoint_seq: string;
  checkpoint_hash: Buffer | null;
  checkpoint_signature: Buffer | null;
  failed_codes: string[] | null;
}

export class PeriodicVerifier {
  readonly #keys: Map<string, KeyObject>;

  constructor(
    private readonly db: Db,
    publicKeys: readonly KeyObject[],
    private readonly logger: Logger,
    private readonly alerts: {
      clock?: Clock;
      /** Publishes the AUDIT-001 transitions a run opened (the service's AlertPublisher). */
      publish?: (notifications: readonly AlertNotification[]) => Promise<void>;
    } = {},
  ) {
    this.#keys = new Map(publicKeys.map((k) => [keyIdOf(k), k]));
  }

  /** Verifies every chain once; null when another process is verifying right now. */
  async runOnce(): Promise<PeriodicVerificationResult | null> {
    const lock = await this.db.connect();
    let broken = false;
    try {
      const got = await lock.query<{ ok: boolean }>(`SELECT pg_try_advisory_lock(${LOCK_SQL}) AS ok`);
      if (!got.rows[0]?.ok) return null;
      try {
        const out: PeriodicVerificationResult = { chains: 0, recordsChecked: 0, failed: [], raised: [], reports: [] };
        for (const chain of await listChains(this.db)) {
          const { report, raise } = await this.#verifyChain(chain.chainId);
          out.chains++;
          out.recordsChecked += report.recordsChecked;
          out.reports.push(report);
          if (report.ok) continue;
          out.failed.push(report.chainId);
          if (raise) {
            const raised = await raiseVerificationFailure(
              this.db,
              report,
              'auditor-periodic-verifier',
              this.alerts.clock ?? systemClock,
            );
            await this.alerts.publish?.(raised);
            out.raised.push(report.chainId);
            this.logger.error(
              { chainId: report.chainId, findings: report.findings.slice(0, 5) },
              'audit chain failed verification (AUDIT-001)',
            );
          }
        }
        return out;
      } finally {
        await lock.query(`SELECT pg_advisory_unlock(${LOCK_SQL})`).catch(() => {
          broken = true;
        });
      }
    } finally {
      lock.release(broken);
    }
  }

  async #verifyChain(chainId: string): Promise<{ report: VerificationReport; raise: boolean }> {
    const { report, state } = await inSnapshot(this.db, async (tx) => {
      const [chain] = await listChains(tx, chainId);
      if (!chain) throw new Error(`chain ${chainId} vanished`);
      const st = await tx.query<StateRow>(
        `SELECT checkpoint_seq, checkpoint_hash, checkpoint_signature, failed_codes FROM audit_verify_state WHERE chain_id = $1`,
        [chainId],
      );
      const state = st.rows[0];
      const anchorSeq = Number(state?.checkpoint_seq ?? 0);
      // a chain pruned past the anchor starts again from its pruning checkpoint (full mode)
      const anchor: CheckpointAnchor | undefined =
        state &&
        anchorSeq > 0 &&
        anchorSeq >= chain.prunedThroughSeq &&
        state.checkpoint_hash &&
        state.checkpoint_signature
          ? {
              seq: anchorSeq,
              headHash: state.checkpoint_hash.toString('hex'),
              signature: state.checkpoint_signature.toString('base64'),
            }
          : undefined;
      const extra: Finding[] = [];
      let checkpoints = await readCheckpoints(
        tx,
        chainId,
        chain.tenantId,
        anchor ? { fromSeq: anchor.seq, toSeq: Number.MAX_SAFE_INTEGER } : undefined,
      );
      if (anchor) {
        const stored = checkpoints.find((c) => c.seq === anchor.seq);
        if (!stored || stored.signature !== anchor.signature || stored.headHash !== anchor.headHash)
          extra.push({
            code: 'CHECKPOINT_CHAIN_BROKEN',
            seq: anchor.seq,
            message: `the checkpoint at seq ${anchor.seq}, verified before, was deleted or replaced`,
          });
        if (anchor.seq > chain.prunedThroughSeq) {
          let seen = false;
          for await (const r of readRecords(tx, chainId, anchor.seq, anchor.seq)) {
            seen = true;
            let computed: string;
            try {
              computed = recordHash(Buffer.from(r.prevHash, 'hex'), r).toString('hex');
            } catch {
              computed = '';
            }
            if (computed !== r.recordHash || r.recordHash !== anchor.headHash)
              extra.push({
                code: 'RECORD_HASH_MISMATCH',
                seq: anchor.seq,
                message: `the record at seq ${anchor.seq} is no longer the one its checkpoint signed`,
              });
          }
          if (!seen)
            extra.push({ code: 'SEQ_GAP', seq: anchor.seq, message: `the record at seq ${anchor.seq} is missing` });
        }
        checkpoints = checkpoints.filter((c) => c.seq > anchor.seq);
      }
      const fromSeq = anchor ? anchor.seq + 1 : chain.prunedThroughSeq + 1;
      const verifier = new ChainVerifier({
        chainId,
        tenantId: chain.tenantId,
        publicKeys: this.#keys,
        checkpoints,
        startSeq: fromSeq,
        checkpointsFromGenesis: anchor === undefined,
        anchor,
        expectedHead: { seq: chain.headSeq, hash: chain.headHash },
      });
      for await (const r of readRecords(tx, chainId, fromSeq)) verifier.add(r);
      const finished = verifier.finish();
      const report: VerificationReport =
        extra.length === 0 ? finished : { ...finished, ok: false, findings: [...extra, ...finished.findings] };
      // the next anchor: the highest checkpoint this run verified
      const next = report.ok
        ? checkpoints.filter((c) => report.coveredThroughSeq !== null && c.seq <= report.coveredThroughSeq).at(-1)
        : undefined;
      return { report, state: { previous: state, next } };
    });
    if (report.ok) {
      const next = state.next;
      await this.db.query(
        `INSERT INTO audit_verify_state (chain_id, checkpoint_seq, checkpoint_hash, checkpoint_signature, verified_at)
         VALUES ($1, COALESCE($2, 0), $3, $4, now())
         ON CONFLICT (chain_id) DO UPDATE SET verified_at = now(), failed_codes = NULL, failed_at = NULL,
           checkpoint_seq = COALESCE($2, audit_verify_state.checkpoint_seq),
           checkpoint_hash = COALESCE($3, audit_verify_state.checkpoint_hash),
           checkpoint_signature = COALESCE($4, audit_verify_state.checkpoint_signature)`,
        [
          chainId,
          next?.seq ?? null,
          next ? Buffer.from(next.headHash, 'hex') : null,
          next ? Buffer.from(next.signature, 'base64') : null,
        ],
      );
      return { report, raise: false };
    }
    const codes = [...new Set(report.findings.map((f) => f.code))].sort();
    const before = [...(state.previous?.failed_codes ?? [])].sort();
    const raise = codes.join(',') !== before.join(',');
    await this.db.query(
      `INSERT INTO audit_verify_state (chain_id, failed_codes, failed_at) VALUES ($1, $2, now())
       ON CONFLICT (chain_id) DO UPDATE SET failed_codes = $2, failed_at = now()`,
      [chainId, codes],
    );
    return { report, raise };
  }
}
