// Reads chains back in their hashed form, for the verifier and the exporter.
import {
  PROVIDER_CHAIN_ID,
  type ChainRecord,
  type Checkpoint,
  type Detection,
  type Outcome,
} from '@tenantgate/audit-core';
import { isoSql, type Db, type Tx } from './db.ts';
import { RECORD_SELECT } from './chain-writer.ts';

type Queryable = Db | Tx;

export interface ChainInfo {
  chainId: string;
  tenantId: string | null;
  headSeq: number;
  headHash: string;
  prunedThroughSeq: number;
}

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

export function toChainRecord(r: RecordRow): ChainRecord {
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
    payloadDigest: r.payload_digest.toString('hex'),
    redactedAt: r.redacted_at,
    prevHash: r.prev_hash.toString('hex'),
    recordHash: r.record_hash.toString('hex'),
  };
}

/** Accepts a tenant id, a tenant slug, or `provider`. */
export async function resolveChainId(db: Queryable, tenant: string): Promise<string | null> {
  if (tenant === PROVIDER_CHAIN_ID) return PROVIDER_CHAIN_ID;
  const res = await db.query<{ id: string }>(`SELECT id FROM tenant WHERE slug = $1 OR id::text = $1 LIMIT 1`, [
    tenant,
  ]);
  return res.rows[0]?.id ?? null;
}

export async function listChains(db: Queryable, chainId?: string): Promise<ChainInfo[]> {
  const res = await db.query<{
    chain_id: string;
    tenant_id: string | null;
    head_seq: string;
    head_hash: Buffer;
    pruned_through_seq: string;
  }>(
    `SELECT chain_id, tenant_id, head_seq, head_hash, pruned_through_seq FROM audit_chain ${chainId ? 'WHERE chain_id = $1' : ''} ORDER BY chain_id`,
    chainId ? [chainId] : [],
  );
  return res.rows.map((r) => ({
    chainId: r.chain_id,
    tenantId: r.tenant_id,
    headSeq: Number(r.head_seq),
    headHash: r.head_hash.toString('hex'),
    prunedThroughSeq: Number(r.pruned_through_seq),
  }));
}

export async function readCheckpoints(
  db: Queryable,
  chainId: string,
  tenantId: string | null,
  range?: { fromSeq: number; toSeq: number },
): Promise<Checkpoint[]> {
  const res = await db.query<{
    seq: string;
    head_hash: Buffer;
    created_at: string;
    prev_signature: Buffer | null;
    key_id: string;
    signature: Buffer;
  }>(
    `SELECT seq, head_hash, ${isoSql('created_at')} AS created_at, prev_signature, key_id, signature FROM audit_checkpoint
     WHERE chain_id = $1 ${range ? 'AND seq BETWEEN $2 AND $3' : ''} ORDER BY seq`,
    range ? [chainId, range.fromSeq, range.toSeq] : [chainId],
  );
  return res.rows.map((r) => ({
    chainId,
    tenantId,
    seq: Number(r.seq),
    headHash: r.head_hash.toString('hex'),
    createdAt: r.created_at,
    prevSignature: r.prev_signature?.toString('base64') ?? null,
    keyId: r.key_id,
    signature: r.signature.toString('base64'),
  }));
}

/** Streams records of a chain in seq order, in pages (keyset pagination on the primary key). */
export async function* readRecords(
  db: Queryable,
  chainId: string,
  fromSeq = 1,
  toSeq = Number.MAX_SAFE_INTEGER,
  pageSize = 5000,
): AsyncGenerator<ChainRecord> {
  let after = fromSeq - 1;
  for (;;) {
    const res = await db.query<RecordRow>(
      `SELECT ${RECORD_SELECT} FROM audit_record WHERE chain_id = $1 AND seq > $2 AND seq <= $3 ORDER BY seq LIMIT $4`,
      [chainId, after, toSeq, pageSize],
    );
    for (const r of res.rows) yield toChainRecord(r);
    if (res.rows.length < pageSize) return;
    after = Number(res.rows.at(-1)!.seq);
  }
}
