// Appends records to per-tenant hash chains. Every append happens under a row lock on the chain
// head (audit_chain FOR UPDATE), so seq is gapless and commit order equals seq order, also with
// several auditor processes. Checkpoints are signed under the same lock.
import {
  GENESIS_HASH,
  payloadDigest,
  recordHash,
  signCheckpoint,
  type Checkpoint,
  type RecordCore,
  type SigningKey,
} from '@tenantgate/audit-core';
import { named, type Tx } from './db.ts';
import type { Clock } from './alerts/types.ts';

export interface ChainHead {
  chainId: string;
  tenantId: string | null;
  headSeq: number;
  headHash: Buffer;
  checkpointSeq: number;
  checkpointSignature: Buffer | null;
  prunedThroughSeq: number;
}

/** A record before it has a place in a chain. */
export type NewRecord = Omit<RecordCore, 'chainId' | 'tenantId' | 'seq' | 'recordedAt' | 'payloadDigest'> & {
  payload: Record<string, unknown>;
};

export interface AppendedRecord extends NewRecord {
  chainId: string;
  tenantId: string | null;
  seq: number;
}

export class ChainWriter {
  constructor(
    private readonly signingKey: SigningKey,
    private readonly clock: Clock,
    private readonly checkpointEvery: number,
  ) {}

  /** Creates missing chains, then locks all of them in chain_id order (no deadlocks between processes). */
  async lockChains(tx: Tx, chains: ReadonlyMap<string, string | null>): Promise<Map<string, ChainHead>> {
    const ids = [...chains.keys()].sort();
    await tx.query(
      named(
        'auditor-chain-create',
        `INSERT INTO audit_chain (chain_id, tenant_id, head_hash) SELECT c, t, $3 FROM unnest($1::text[], $2::uuid[]) AS x(c, t) ON CONFLICT DO NOTHING`,
        [ids, ids.map((id) => chains.get(id) ?? null), GENESIS_HASH],
      ),
    );
    const res = await tx.query<{
      chain_id: string;
      tenant_id: string | null;
      head_seq: string;
      head_hash: Buffer;
      checkpoint_seq: string;
      checkpoint_signature: Buffer | null;
      pruned_through_seq: string;
    }>(
      named(
        'auditor-chain-lock',
        `SELECT chain_id, tenant_id, head_seq, head_hash, checkpoint_seq, checkpoint_signature, pruned_through_seq
       FROM audit_chain WHERE chain_id = ANY($1::text[]) ORDER BY chain_id FOR UPDATE`,
        [ids],
      ),
    );
    return new Map(
      res.rows.map((r) => [
        r.chain_id,
        {
          chainId: r.chain_id,
          tenantId: r.tenant_id,
          headSeq: Number(r.head_seq),
          headHash: r.head_hash,
          checkpointSeq: Number(r.checkpoint_seq),
          checkpointSignature: r.checkpoint_signature,
          prunedThroughSeq: Number(r.pruned_through_seq),
        },
      ]),
    );
  }

  /**
   * Appends entries (in order) to their locked chains. Entries whose dedup key a chain already
   * holds are skipped (at-least-once delivery). Signs a checkpoint when one is due by count.
   */
  async append(
    tx: Tx,
    heads: Map<string, ChainHead>,
    entries: ReadonlyArray<{ chainId: string; record: NewRecord }>,
  ): Promise<AppendedRecord[]> {
    if (entries.length === 0) return [];
    const existing = await tx.query<{ chain_id: string; dedup_key: string }>(
      named(
        'auditor-append-existing',
        `SELECT r.chain_id, r.dedup_key FROM audit_record r
       JOIN unnest($1::text[], $2::text[]) AS t(c, k) ON r.chain_id = t.c AND r.dedup_key = t.k`,
        [entries.map((e) => e.chainId), entries.map((e) => e.record.dedupKey)],
      ),
    );
    const seen = new Set(existing.rows.map((r) => `${r.chain_id}\u0000${r.dedup_key}`));
    const recordedAt = this.clock.now().toISOString();
    const rows: Array<{ head: ChainHead; rec: NewRecord; seq: number; digest: Buffer; prev: Buffer; hash: Buffer }> =
      [];
    for (const { chainId, record } of entries) {
      const k = `${chainId}\u0000${record.dedupKey}`;
      if (seen.has(k)) continue;
      seen.add(k);
      const head = heads.get(chainId);
      if (!head) throw new Error(`chain ${chainId} is not locked`);
      const seq = head.headSeq + 1;
      const digest = payloadDigest(record.payload);
      const core: RecordCore = {
        ...record,
        chainId,
        tenantId: head.tenantId,
        seq,
        recordedAt,
        payloadDigest: digest.toString('hex'),
      };
      const hash = recordHash(head.headHash, core);
      rows.push({ head, rec: record, seq, digest, prev: head.headHash, hash });
      head.headSeq = seq;
      head.headHash = hash;
    }
    if (rows.length === 0) return [];
    const col = <T>(f: (r: (typeof rows)[number]) => T) => rows.map(f);
    await tx.query(
      named(
        'auditor-append-insert',
        `INSERT INTO audit_record (chain_id, seq, event_id, dedup_key, tenant_id, occurred_at, observed_at, recorded_at, source, category,
         action, outcome, actor_type, actor_id, actor_principal, src_ip, connection_id, node, target_type, target_id, target_name,
         target_path, upid, request_id, detection, payload, payload_digest, prev_hash, record_hash)
       SELECT c1, c2, c3, c4, c5, c6, c7, $8::timestamptz, c9, c10, c11, c12, c13, c14, c15, c16, c17, c18, c19, c20, c21, c22, c23, c24, c25,
         c26::jsonb, c27, c28, c29
       FROM unnest($1::text[], $2::bigint[], $3::uuid[], $4::text[], $5::uuid[], $6::timestamptz[], $7::timestamptz[], $9::text[], $10::text[],
         $11::text[], $12::text[], $13::text[], $14::text[], $15::text[], $16::text[], $17::uuid[], $18::text[], $19::text[], $20::text[],
         $21::text[], $22::text[], $23::text[], $24::text[], $25::text[], $26::text[], $27::bytea[], $28::bytea[], $29::bytea[])
         AS t(c1, c2, c3, c4, c5, c6, c7, c9, c10, c11, c12, c13, c14, c15, c16, c17, c18, c19, c20, c21, c22, c23, c24, c25, c26, c27, c28, c29)`,
        [
          col((r) => r.head.chainId),
          col((r) => r.seq),
          col((r) => r.rec.eventId),
          col((r) => r.rec.dedupKey),
          col((r) => r.head.tenantId),
          col((r) => r.rec.occurredAt),
          col((r) => r.rec.observedAt),
          recordedAt,
          col((r) => r.rec.source),
          col((r) => r.rec.category),
          col((r) => r.rec.action),
          col((r) => r.rec.outcome),
          col((r) => r.rec.actorType),
          col((r) => r.rec.actorId),
          col((r) => r.rec.actorPrincipal),
          col((r) => r.rec.srcIp),
          col((r) => r.rec.connectionId),
          col((r) => r.rec.node),
          col((r) => r.rec.targetType),
          col((r) => r.rec.targetId),
          col((r) => r.rec.targetName),
          col((r) => r.rec.targetPath),
          col((r) => r.rec.upid),
          col((r) => r.rec.requestId),
          col((r) => r.rec.detection),
          col((r) => JSON.stringify(r.rec.payload)),
          col((r) => r.digest),
          col((r) => r.prev),
          col((r) => r.hash),
        ],
      ),
    );
    const touched = [...new Set(rows.map((r) => r.head))];
    await tx.query(
      named(
        'auditor-chain-advance',
        `UPDATE audit_chain c SET head_seq = t.s, head_hash = t.h FROM unnest($1::text[], $2::bigint[], $3::bytea[]) AS t(id, s, h) WHERE c.chain_id = t.id`,
        [touched.map((h) => h.chainId), touched.map((h) => h.headSeq), touched.map((h) => h.headHash)],
      ),
    );
    for (const head of touched) {
      if (head.headSeq - head.checkpointSeq >= this.checkpointEvery) await this.checkpoint(tx, head);
    }
    return rows.map((r) => ({ ...r.rec, chainId: r.head.chainId, tenantId: r.head.tenantId, seq: r.seq }));
  }

  /** Signs the current head of a locked chain (no-op when the head is already checkpointed). */
  async checkpoint(tx: Tx, head: ChainHead): Promise<Checkpoint | null> {
    if (head.headSeq === 0 || head.headSeq === head.checkpointSeq) return null;
    const cp = signCheckpoint(this.signingKey, {
      chainId: head.chainId,
      tenantId: head.tenantId,
      seq: head.headSeq,
      headHash: head.headHash.toString('hex'),
      createdAt: this.clock.now().toISOString(),
      prevSignature: head.checkpointSignature?.toString('base64') ?? null,
    });
    const signature = Buffer.from(cp.signature, 'base64');
    await tx.query(
      `INSERT INTO audit_checkpoint (chain_id, seq, head_hash, created_at, prev_signature, key_id, signature) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      [cp.chainId, cp.seq, head.headHash, cp.createdAt, head.checkpointSignature, cp.keyId, signature],
    );
    await tx.query(
      `UPDATE audit_chain SET checkpoint_seq = $2, checkpoint_at = $3, checkpoint_signature = $4 WHERE chain_id = $1`,
      [cp.chainId, cp.seq, cp.createdAt, signature],
    );
    head.checkpointSeq = cp.seq;
    head.checkpointSignature = signature;
    return cp;
  }

  /** Checkpoints every chain with unsigned records whose last checkpoint is older than `olderThanMs`. */
  async checkpointStale(tx: Tx, olderThanMs: number): Promise<number> {
    const cutoff = new Date(this.clock.now().getTime() - olderThanMs);
    const due = await tx.query<{ chain_id: string; tenant_id: string | null }>(
      `SELECT chain_id, tenant_id FROM audit_chain WHERE head_seq > checkpoint_seq AND (checkpoint_at IS NULL OR checkpoint_at <= $1)
       ORDER BY chain_id LIMIT 500`,
      [cutoff],
    );
    if (due.rows.length === 0) return 0;
    const heads = await this.lockChains(tx, new Map(due.rows.map((r) => [r.chain_id, r.tenant_id])));
    let n = 0;
    for (const head of heads.values()) if (await this.checkpoint(tx, head)) n++;
    return n;
  }
}
