import type { KeyObject } from 'node:crypto';
import { IsolationLevel } from '@mikro-orm/core';
import { ChainReader, createBundle, isoMillis, toQuestionMarks, type AuditBundle } from '@tenantgate/audit-core';
import type { Em } from '@tenantgate/shared';

// Builds an audit-core bundle of a chain: the records whose occurred_at lies in [from, to), the
// context records that link them to the anchoring and covering signed checkpoints, those
// checkpoints, the public keys and a verification report (audit-core's ChainReader over this
// request's EntityManager). Offline-verifiable with `tenantgate audit verify --bundle`.

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
        const reader = new ChainReader(async (text, values) => {
          const q = toQuestionMarks(text, values);
          return await tx.execute<object[]>(q.text, q.values);
        });
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
        const input = {
          chainId: req.chainId,
          from: req.from,
          to,
          exportedAt: new Date().toISOString(),
          exportedBy: req.exportedBy,
          publicKeys: req.publicKeys,
        };
        // an unknown chain exports an empty (still verifiable) bundle
        const bundle =
          (await reader.bundle(input)) ??
          createBundle({
            ...input,
            tenantId: null,
            from: isoMillis(req.from),
            to: isoMillis(to),
            records: [],
            checkpoints: [],
          });
        return { bundle, truncated };
      },
      { isolationLevel: IsolationLevel.REPEATABLE_READ, readOnly: true },
    );
  }
}
