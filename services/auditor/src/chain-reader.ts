// Reads chains back in their hashed form, for the verifiers and the exporter: audit-core's
// ChainReader over a `pg` pool or transaction client.
import {
  ChainReader,
  PROVIDER_CHAIN_ID,
  type ChainHead,
  type Checkpoint,
  type ChainRecord,
} from '@tenantgate/audit-core';
import type { Db, Tx } from './db.ts';

type Queryable = Db | Tx;

export type ChainInfo = ChainHead;

/** audit-core's chain reader on this pool or transaction (pass the transaction for one snapshot). */
export function chainReader(db: Queryable): ChainReader {
  return new ChainReader(async (text, values) => (await db.query(text, [...values])).rows as object[]);
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
  return await chainReader(db).chains(chainId);
}

export async function readCheckpoints(
  db: Queryable,
  chainId: string,
  tenantId: string | null,
  range?: { fromSeq: number; toSeq: number },
): Promise<Checkpoint[]> {
  return await chainReader(db).checkpoints(chainId, tenantId, range);
}

/** Streams records of a chain in seq order, in pages (keyset pagination on the primary key). */
export function readRecords(
  db: Queryable,
  chainId: string,
  fromSeq?: number,
  toSeq?: number,
  pageSize?: number,
): AsyncGenerator<ChainRecord> {
  return chainReader(db).records(chainId, fromSeq, toSeq, pageSize);
}
