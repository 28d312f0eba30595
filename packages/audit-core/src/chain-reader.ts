// Reads audit chains back from PostgreSQL in their hashed form (the exact strings and hex the
// hashes were computed over). audit-core stays free of database drivers: callers pass a query
// function over their own connection (the auditor a `pg` client, the gateway a MikroORM
// EntityManager). Run every read of one verification or export inside one REPEATABLE READ
// transaction so head, checkpoints and records come from the same moment.
import { createBundle, type AuditBundle } from './bundle.ts';
import type { Checkpoint } from './checkpoint.ts';
import { isoMillis, type ChainRecord, type Detection, type Outcome } from './record.ts';
import type { KeyObject } from 'node:crypto';

/**
 * Runs one SQL statement with PostgreSQL positional parameters (`$1`, `$2`, …) and resolves its
 * rows. bigint columns are cast to text by the reader's SQL; bytea arrives as Buffer/Uint8Array.
 */
export type ChainQuery = (text: string, values: readonly unknown[]) => Promise<readonly object[]>;

/** A chain's head as stored in `audit_chain`. */
export interface ChainHead {
  chainId: string;
  tenantId: string | null;
  headSeq: number;
  /** Hex. */
  headHash: string;
  /** Records with seq ≤ this were pruned by retention (whole checkpointed ranges). */
  prunedThroughSeq: number;
}

/** The records and checkpoints a bundle of [from, to) needs (see ChainReader.bundleSlice). */
export interface ChainSlice {
  records: ChainRecord[];
  checkpoints: Checkpoint[];
}

export interface ReadBundleInput {
  chainId: string;
  /** Selected records: occurred_at in [from, to). */
  from: Date;
  to: Date;
  exportedAt: string;
  exportedBy: string | null;
  publicKeys: readonly KeyObject[];
}

/** `timestamptz` rendered as ISO-8601 UTC with milliseconds: the form the hashes commit to. */
const iso = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/**
 * The columns that read a record back in its hashed form. `seq` comes back as text (bigint):
 * qualify it (`r.seq`) in ORDER BY, or the text alias sorts "10" before "9".
 */
export const RECORD_COLUMNS = `chain_id, tenant_id, seq::text AS seq, event_id, dedup_key, ${iso('occurred_at')} AS occurred_at,
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
  payload_digest: Uint8Array;
  redacted_at: string | null;
  prev_hash: Uint8Array;
  record_hash: Uint8Array;
}

interface CheckpointRow {
  seq: string;
  head_hash: Uint8Array;
  created_at: string;
  prev_signature: Uint8Array | null;
  key_id: string;
  signature: Uint8Array;
}

interface HeadRow {
  chain_id: string;
  tenant_id: string | null;
  head_seq: string;
  head_hash: Uint8Array;
  pruned_through_seq: string;
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const base64 = (b: Uint8Array) => Buffer.from(b).toString('base64');

/** Maps an `audit_record` row read with RECORD_COLUMNS to the record the hashes commit to. */
export function chainRecordFromRow(r: RecordRow): ChainRecord {
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

/**
 * Rewrites `$n` parameters into `?` placeholders (values reordered and repeated to match), for
 * query APIs that take `?` (MikroORM's `em.execute`). The reader's SQL has no `$` or `?` in literals.
 */
export function toQuestionMarks(text: string, values: readonly unknown[]): { text: string; values: unknown[] } {
  const ordered: unknown[] = [];
  const out = text.replace(/\$(\d+)/g, (_m, n: string) => {
    const i = Number(n) - 1;
    if (i < 0 || i >= values.length) throw new RangeError(`SQL parameter $${n} has no value`);
    ordered.push(values[i]);
    return '?';
  });
  return { text: out, values: ordered };
}

export class ChainReader {
  constructor(private readonly query: ChainQuery) {}

  /** Every chain, or the one with `chainId` (empty when it does not exist). */
  async chains(chainId?: string): Promise<ChainHead[]> {
    const rows = (await this.query(
      `SELECT chain_id, tenant_id, head_seq::text AS head_seq, head_hash, pruned_through_seq::text AS pruned_through_seq
         FROM audit_chain ${chainId === undefined ? '' : 'WHERE chain_id = $1'} ORDER BY chain_id`,
      chainId === undefined ? [] : [chainId],
    )) as HeadRow[];
    return rows.map((r) => ({
      chainId: r.chain_id,
      tenantId: r.tenant_id,
      headSeq: Number(r.head_seq),
      headHash: hex(r.head_hash),
      prunedThroughSeq: Number(r.pruned_through_seq),
    }));
  }

  async chain(chainId: string): Promise<ChainHead | null> {
    return (await this.chains(chainId))[0] ?? null;
  }

  /** The signed checkpoints of a chain in seq order, optionally only those in [fromSeq, toSeq]. */
  async checkpoints(
    chainId: string,
    tenantId: string | null,
    range?: { fromSeq: number; toSeq: number },
  ): Promise<Checkpoint[]> {
    const rows = (await this.query(
      `SELECT seq::text AS seq, head_hash, ${iso('created_at')} AS created_at, prev_signature, key_id, signature
         FROM audit_checkpoint c WHERE chain_id = $1 ${range ? 'AND c.seq BETWEEN $2 AND $3' : ''} ORDER BY c.seq`,
      range ? [chainId, range.fromSeq, range.toSeq] : [chainId],
    )) as CheckpointRow[];
    return rows.map((r) => ({
      chainId,
      tenantId,
      seq: Number(r.seq),
      headHash: hex(r.head_hash),
      createdAt: r.created_at,
      prevSignature: r.prev_signature ? base64(r.prev_signature) : null,
      keyId: r.key_id,
      signature: base64(r.signature),
    }));
  }

  /** Streams the records with seq in [fromSeq, toSeq] in seq order, in pages (keyset on the primary key). */
  async *records(
    chainId: string,
    fromSeq = 1,
    toSeq = Number.MAX_SAFE_INTEGER,
    pageSize = 5000,
  ): AsyncGenerator<ChainRecord> {
    let after = fromSeq - 1;
    for (;;) {
      const rows = (await this.query(
        `SELECT ${RECORD_COLUMNS} FROM audit_record r WHERE r.chain_id = $1 AND r.seq > $2 AND r.seq <= $3 ORDER BY r.seq LIMIT $4`,
        [chainId, after, toSeq, pageSize],
      )) as RecordRow[];
      for (const r of rows) yield chainRecordFromRow(r);
      if (rows.length < pageSize) return;
      after = Number(rows.at(-1)!.seq);
    }
  }

  /**
   * What a bundle of the records with occurred_at in [from, to) needs: those records plus the
   * context records that link them to the last checkpoint before them (the anchor; the pruned
   * boundary or genesis when there is none) and to the first checkpoint covering them (else the
   * head), and those checkpoints. Empty when no record lies in the range.
   */
  async bundleSlice(chain: ChainHead, from: Date, to: Date): Promise<ChainSlice> {
    const [range] = (await this.query(
      `SELECT min(seq)::text AS lo, max(seq)::text AS hi FROM audit_record WHERE chain_id = $1 AND occurred_at >= $2 AND occurred_at < $3`,
      [chain.chainId, from, to],
    )) as Array<{ lo: string | null; hi: string | null }>;
    if (!range?.lo || !range.hi) return { records: [], checkpoints: [] };
    const a = Number(range.lo);
    const b = Number(range.hi);
    const all = await this.checkpoints(chain.chainId, chain.tenantId);
    const anchor = all.filter((c) => c.seq < a && c.seq >= chain.prunedThroughSeq).at(-1);
    const cover = all.find((c) => c.seq >= b);
    const lo = anchor ? anchor.seq + 1 : chain.prunedThroughSeq + 1;
    const hi = cover ? cover.seq : chain.headSeq;
    const records: ChainRecord[] = [];
    for await (const r of this.records(chain.chainId, lo, hi)) records.push(r);
    return { records, checkpoints: all.filter((c) => c.seq >= lo - 1 && c.seq <= hi) };
  }

  /** A verified bundle of [from, to) (see bundleSlice); null when the chain does not exist. */
  async bundle(input: ReadBundleInput): Promise<AuditBundle | null> {
    const chain = await this.chain(input.chainId);
    if (!chain) return null;
    const slice = await this.bundleSlice(chain, input.from, input.to);
    return createBundle({
      chainId: chain.chainId,
      tenantId: chain.tenantId,
      from: isoMillis(input.from),
      to: isoMillis(input.to),
      exportedAt: input.exportedAt,
      exportedBy: input.exportedBy,
      records: slice.records,
      checkpoints: slice.checkpoints,
      publicKeys: input.publicKeys,
    });
  }
}
