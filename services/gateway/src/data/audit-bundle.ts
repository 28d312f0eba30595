import type { KeyObject } from 'node:crypto';
import { IsolationLevel } from '@mikro-orm/core';
import {
  createBundle,
  isoMillis,
  type AuditBundle,
  type ChainRecord,
  type Checkpoint,
  type Detection,
  type Outcome,
} from '@tenantgate/audit-core';
import type { Em } from '@tenantgate/shared';

// Reads a chain in its hashed form and builds an audit-core bundle: the records whose occurred_at
// lies in [from, to), the context records that link them to the anchoring and covering signed
// checkpoints, those checkpoints, the public keys and a verification report. Offline-verifiable
// with `tenantgate audit verify --bundle`.

const iso = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

const RECORD_COLUMNS = `chain_id, tenant_id, seq::text AS seq, event_id, dedup_key, ${iso('occurred_at')} AS occurred_at,
  ${iso('observed_at')} AS observed_at, ${iso('recorded_at')} AS recorded_at, source, category, action, outcome, actor_type,
  actor_id, actor_principal, src_ip, connection_id, node, target_type, target_id, target_name, target_path, upid, request_id,
  detection, payload, payload_digest, ${iso('redacted_at')} AS redacted_at, prev_hash, record_hash`;

interface RecordRow {
  chain_id: string;
  tenant_id: string | null;
  seq: string;
  event_id: string;
  dedup_key: string;
  occurred_at: string;
  observed_at: string;
  recorded_at: string;
  source: string;
  category: string;
  action: string;
  outcome: Outcome;
  actor_type: string;
  actor_id: string | null;
  actor_principal: string | null;
  src_ip: string | null;
  connection_id: string | null;
  node: string | null;
  target_type: string | null;
  target_id: string | null;
  target_name: string | null;
  target_path: string | null;
  upid: string | null;
  request_id: string | null;
  detection: Detection;
  payload: Record<string, unknown> | null;
  payload_digest: Buffer;
  redacted_at: string | null;
  prev_hash: Buffer;
  record_hash: Buffer;
}

const hex = (b: Buffer | Uint8Array) => Buffer.from(b).toString('hex');

function toChainRecord(r: RecordRow): ChainRecord {
  return {
    chainId: r.chain_id,
    tenantId: r.tenant_id,
    seq: Number(r.seq),
    eventId: r.event_id,
    dedupKey: r.dedup_key,
    occurredAt: r.occurred_at,
    observedAt: r.observed_at,
    recordedAt: r.recorded_at,
    source: r.source,
    category: r.category,
    action: r.action,
    outcome: r.outcome,
    actorType: r.actor_type,
    actorId: r.actor_id,
    actorPrincipal: r.actor_principal,
    srcIp: r.src_ip,
    connectionId: r.connection_id,
    node: r.node,
    targetType: r.target_type,
    targetId: r.target_id,
    targetName: r.target_name,
    targetPath: r.target_path,
    upid: r.upid,
    requestId: r.request_id,
    detection: r.detection,
    payload: r.payload,
    payloadDigest: hex(r.payload_digest),
    redactedAt: r.redacted_at,
    prevHash: hex(r.prev_hash),
    recordHash: hex(r.record_hash),
  };
}

export interface BundleRequest {
  chainId: string;
  from: Date;
  to: Date;
  /** At most this many selected records; a larger range is cut at an occurred_at boundary. */
  limit: number;
  exportedBy: string | null;
  publicKeys: readonly KeyObject[];
}

export interface BuiltBundle {
  bundle: AuditBundle;
  /** More records matched than `limit`: the bundle's range ends earlier than requested. */
  truncated: boolean;
}

export class AuditBundleRepository {
  /** One REPEATABLE READ snapshot: records, checkpoints and chain head agree. */
  async build(em: Em, req: BundleRequest): Promise<BuiltBundle> {
    return await em.fork().transactional(
      async (tx) => {
        const [chain] = await tx.execute<Array<{ tenant_id: string | null; head_seq: string; pruned: string }>>(
          `SELECT tenant_id, head_seq::text AS head_seq, pruned_through_seq::text AS pruned FROM audit_chain WHERE chain_id = ?`,
          [req.chainId],
        );
        let to = req.to;
        let truncated = false;
        // Cut at the occurred_at of the first record past the limit (the oldest `limit` records stay).
        const [cut] = await tx.execute<Array<{ at: Date }>>(
          `SELECT occurred_at AS at FROM audit_record WHERE chain_id = ? AND occurred_at >= ? AND occurred_at < ?
            ORDER BY occurred_at OFFSET ? LIMIT 1`,
          [req.chainId, req.from, req.to, req.limit],
        );
        if (cut) {
          to = new Date(cut.at);
          truncated = true;
        }
        const [range] = await tx.execute<Array<{ lo: string | null; hi: string | null }>>(
          `SELECT min(seq)::text AS lo, max(seq)::text AS hi FROM audit_record WHERE chain_id = ? AND occurred_at >= ? AND occurred_at < ?`,
          [req.chainId, req.from, to],
        );
        const records: ChainRecord[] = [];
        let checkpoints: Checkpoint[] = [];
        if (chain && range?.lo && range.hi) {
          const a = Number(range.lo);
          const b = Number(range.hi);
          const pruned = Number(chain.pruned);
          const all = await this.checkpoints(tx, req.chainId, chain.tenant_id);
          // From just after the last checkpoint before the range to the first checkpoint covering it.
          const anchor = all.filter((c) => c.seq < a && c.seq >= pruned).at(-1);
          const cover = all.find((c) => c.seq >= b);
          const lo = anchor ? anchor.seq + 1 : pruned + 1;
          const hi = cover ? cover.seq : Number(chain.head_seq);
          const rows = await tx.execute<RecordRow[]>(
            `SELECT ${RECORD_COLUMNS} FROM audit_record WHERE chain_id = ? AND seq BETWEEN ? AND ? ORDER BY seq`,
            [req.chainId, lo, hi],
          );
          records.push(...rows.map(toChainRecord));
          checkpoints = all.filter((c) => c.seq >= lo - 1 && c.seq <= hi);
        }
        const bundle = createBundle({
          chainId: req.chainId,
          tenantId: chain?.tenant_id ?? null,
          from: isoMillis(req.from),
          to: isoMillis(to),
          exportedAt: new Date().toISOString(),
          exportedBy: req.exportedBy,
          records,
          checkpoints,
          publicKeys: req.publicKeys,
        });
        return { bundle, truncated };
      },
      { isolationLevel: IsolationLevel.REPEATABLE_READ, readOnly: true },
    );
  }

  private async checkpoints(tx: Em, chainId: string, tenantId: string | null): Promise<Checkpoint[]> {
    const rows = await tx.execute<
      Array<{
        seq: string;
        head_hash: Buffer;
        created_at: string;
        prev_signature: Buffer | null;
        key_id: string;
        signature: Buffer;
      }>
    >(
      `SELECT seq::text AS seq, head_hash, ${iso('created_at')} AS created_at, prev_signature, key_id, signature
         FROM audit_checkpoint WHERE chain_id = ? ORDER BY seq`,
      [chainId],
    );
    return rows.map((r) => ({
      chainId,
      tenantId,
      seq: Number(r.seq),
      headHash: hex(r.head_hash),
      createdAt: r.created_at,
      prevSignature: r.prev_signature ? Buffer.from(r.prev_signature).toString('base64') : null,
      keyId: r.key_id,
      signature: Buffer.from(r.signature).toString('base64'),
    }));
  }
}
