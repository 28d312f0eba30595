// Regression (issue 6.5): processed inbox rows were never deleted. Now processed rows older than
// the retention are deleted in batches; unprocessed rows never are.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { event, insertEvents, setupEnv, type Env } from './test-support.ts';

let env: Env;

beforeAll(async () => {
  env = await setupEnv('auditinboxret');
});
afterAll(async () => await env.close());

describe('regression: processed inbox rows were never deleted', () => {
  it('deletes processed rows older than the retention, in batches, and keeps the rest', async () => {
    const s = env.newService({ inboxRetentionMs: 7 * 24 * 3_600_000, inboxRetentionBatch: 2 });
    const old = Array.from({ length: 5 }, () => event());
    const recent = Array.from({ length: 3 }, () => event());
    await insertEvents(env.db, [...old, ...recent]);
    await s.drainNow();
    const oldUnprocessed = event();
    await insertEvents(env.db, [oldUnprocessed]);
    // age the rows as if eight days had passed (the inbox has no insert-only guard)
    await env.db.query(
      `UPDATE audit_inbox SET observed_at = observed_at - interval '8 days', processed_at = processed_at - interval '8 days'
       WHERE dedup_key = ANY($1::text[])`,
      [[...old, oldUnprocessed].map((e) => e.dedupKey)],
    );
    expect(await s.pruneInboxNow()).toBe(5);
    const left = await env.db.query<{ dedup_key: string; processed: boolean }>(
      `SELECT dedup_key, processed_at IS NOT NULL AS processed FROM audit_inbox ORDER BY dedup_key`,
    );
    expect(left.rows).toEqual(
      [
        ...recent.map((e) => ({ dedup_key: e.dedupKey, processed: true })),
        { dedup_key: oldUnprocessed.dedupKey, processed: false },
      ].sort((a, b) => (a.dedup_key < b.dedup_key ? -1 : 1)),
    );
    // the chained records are untouched
    const records = await env.db.query(`SELECT 1 FROM audit_record WHERE dedup_key = ANY($1::text[])`, [
      old.map((e) => e.dedupKey),
    ]);
    expect(records.rowCount).toBe(5);
    expect(await s.pruneInboxNow()).toBe(0);
  });
});
