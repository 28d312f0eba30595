// Retention of the audit inbox: a processed row is a transient copy (its event lives on in the
// chains, and a redelivered event is still deduplicated there by the chain's dedup-key index), so
// processed rows older than the retention are deleted, in batches of short transactions. Rows not
// yet processed are never deleted.
import type { Db } from './db.ts';

export interface InboxRetentionOptions {
  /** Processed rows whose observed_at and processed_at are older than this are deleted. */
  olderThanMs: number;
  /** Rows per DELETE statement (its own transaction). */
  batchSize: number;
  /** Upper bound on statements per call (the next run continues). */
  maxBatches?: number;
}

/** Deletes processed inbox rows older than the retention; returns how many. */
export async function pruneProcessedInbox(db: Db, o: InboxRetentionOptions): Promise<number> {
  let total = 0;
  for (let i = 0; i < (o.maxBatches ?? 1000); i++) {
    // observed_at first: the BRIN index on it limits the scan to old page ranges
    const res = await db.query(
      `DELETE FROM audit_inbox WHERE ctid = ANY(ARRAY(
         SELECT ctid FROM audit_inbox
         WHERE observed_at < now() - make_interval(secs => $1::float8 / 1000)
           AND processed_at < now() - make_interval(secs => $1::float8 / 1000)
         LIMIT $2 FOR UPDATE SKIP LOCKED))`,
      [o.olderThanMs, o.batchSize],
    );
    const n = res.rowCount ?? 0;
    total += n;
    if (n < o.batchSize) break;
  }
  return total;
}
