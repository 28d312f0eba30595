import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { PROVIDER_CHAIN_ID } from '@tenantgate/audit-core';
import { createOrm, jobId, QueueName } from '@tenantgate/shared';
import { testRedisUrl } from '@tenantgate/testing';
import { assign, event, fixture, insertEvents, setupEnv, type Env } from './test-support.ts';
import { poolOf } from './db.ts';
import { verifyChains } from './verifier.ts';

let env: Env;
let t1: string, t2: string, t3: string, conn: string;

beforeAll(async () => {
  env = await setupEnv('auditpipe');
  const f = await fixture(env.db, ['acme', 'globex', 'initech']);
  [t1, t2, t3] = f.tenants as [string, string, string];
  conn = f.connectionId;
  // vm 100 → acme (guest level); pool "gx" → globex; whole connection → initech until 2026-11-01
  await assign(env.db, { tenantId: t1, connectionId: conn, kind: 'guest', vmid: 100 });
  await assign(env.db, { tenantId: t2, connectionId: conn, kind: 'pool', pool: 'gx' });
  await assign(env.db, { tenantId: t3, connectionId: conn, kind: 'connection', to: '2026-11-01T00:00:00Z' });
});
afterAll(async () => await env.close());

async function chainOf(dedupKey: string): Promise<string[]> {
  const r = await env.db.query<{ chain_id: string }>(
    `SELECT chain_id FROM audit_record WHERE dedup_key = $1 ORDER BY chain_id`,
    [dedupKey],
  );
  return r.rows.map((x) => x.chain_id);
}

describe('attribution', () => {
  it('attributes by the assignment in force when the event occurred', async () => {
    const s = env.newService();
    const e = {
      guestVm: event({ connectionId: conn, guest: { vmid: 100, pool: 'gx' } }), // guest level beats pool
      pooled: event({ connectionId: conn, guest: { vmid: 200, pool: 'gx' } }),
      oldConn: event({ connectionId: conn, guest: { vmid: 300 }, occurredAt: '2026-10-15T00:00:00.000Z' }), // connection assignment then
      unassigned: event({ connectionId: conn, guest: { vmid: 300 }, occurredAt: '2026-11-15T00:00:00.000Z' }),
      moved: event({
        connectionId: conn,
        action: 'guest.moved',
        guest: { vmid: 400, pool: 'gx', previousPool: null },
        occurredAt: '2026-10-20T00:00:00.000Z',
      }),
      explicit: event({ source: 'portal', tenantIds: [t1, t2], action: 'assignment.guest_moved' }),
      foreignTenant: event({ source: 'portal', tenantIds: ['00000000-0000-4000-8000-000000000999'] }),
      noConnection: event({ category: 'auth', action: 'auth.login' }),
    };
    await insertEvents(env.db, Object.values(e));
    await s.drainNow();
    expect(await chainOf(e.guestVm.dedupKey)).toEqual([t1]);
    expect(await chainOf(e.pooled.dedupKey)).toEqual([t2]);
    expect(await chainOf(e.oldConn.dedupKey)).toEqual([t3]);
    expect(await chainOf(e.unassigned.dedupKey)).toEqual([PROVIDER_CHAIN_ID]);
    expect(await chainOf(e.moved.dedupKey)).toEqual([t2, t3].sort());
    expect(await chainOf(e.explicit.dedupKey)).toEqual([t1, t2].sort());
    expect(await chainOf(e.foreignTenant.dedupKey)).toEqual([PROVIDER_CHAIN_ID]);
    expect(await chainOf(e.noConnection.dedupKey)).toEqual([PROVIDER_CHAIN_ID]);
    const pending = await env.db.query(`SELECT 1 FROM audit_inbox WHERE processed_at IS NULL`);
    expect(pending.rowCount).toBe(0);
  });

  it('chains contract violations on the provider chain instead of dropping them', async () => {
    await env.db.query(
      `INSERT INTO audit_inbox (dedup_key, event_id, source, occurred_at, event) VALUES ('bad:1', gen_random_uuid(), 'pve.task', now(), '{"action":"NOT VALID"}')`,
    );
    await env.newService().drainNow();
    const r = await env.db.query<{ chain_id: string; action: string }>(
      `SELECT chain_id, action FROM audit_record WHERE dedup_key = 'bad:1'`,
    );
    expect(r.rows).toEqual([{ chain_id: PROVIDER_CHAIN_ID, action: 'audit.invalid_event' }]);
  });
});

describe('chain append', () => {
  it('is idempotent under redelivery (same dedup key twice)', async () => {
    const e = event({ connectionId: conn, guest: { vmid: 100 } });
    await insertEvents(env.db, [e]);
    const s = env.newService();
    await s.drainNow();
    // at-least-once: the row is delivered again (e.g. a crash after append, before the ack)
    await env.db.query(`UPDATE audit_inbox SET processed_at = NULL WHERE dedup_key = $1`, [e.dedupKey]);
    await s.drainNow();
    expect(await chainOf(e.dedupKey)).toEqual([t1]);
  });

  it('two auditor processes share the inbox without duplicates or seq gaps', async () => {
    const orm = await createOrm({ databaseUrl: env.database.url, poolMax: 4 });
    try {
      const ormPool = await poolOf(orm);
      const a = env.newService({ batchSize: 50 });
      const b = env.newService({ batchSize: 50, pool: ormPool });
      const events = Array.from({ length: 1200 }, (_, i) =>
        event({ connectionId: conn, guest: { vmid: [100, 200, 300, 500][i % 4]!, pool: i % 4 === 1 ? 'gx' : null } }),
      );
      await insertEvents(env.db, events);
      await Promise.all([a.drainNow(), b.drainNow(), a.drainNow(), b.drainNow()]);
      const dup = await env.db.query(
        `SELECT dedup_key FROM audit_record GROUP BY chain_id, dedup_key HAVING count(*) > 1`,
      );
      expect(dup.rowCount).toBe(0);
      const gaps = await env.db.query<{ chain_id: string; n: string; mx: string; head: string }>(
        `SELECT r.chain_id, count(*) AS n, max(seq) AS mx, c.head_seq AS head FROM audit_record r JOIN audit_chain c USING (chain_id) GROUP BY r.chain_id, c.head_seq`,
      );
      for (const g of gaps.rows) {
        expect(Number(g.n)).toBe(Number(g.mx));
        expect(g.head).toBe(g.mx);
      }
      const n = await env.db.query(`SELECT 1 FROM audit_record WHERE dedup_key = ANY($1::text[])`, [
        events.map((e) => e.dedupKey),
      ]);
      expect(n.rowCount).toBe(1200);
      const reports = await verifyChains(env.db, { publicKeys: [env.key.publicKey] });
      expect(reports.every((r) => r.ok)).toBe(true);
    } finally {
      await orm.close(true);
    }
  });

  it('signs a checkpoint every N records and on the interval', async () => {
    const s = env.newService({ checkpointEveryRecords: 10, batchSize: 5 });
    await insertEvents(
      env.db,
      Array.from({ length: 25 }, () => event({ connectionId: conn, guest: { vmid: 200, pool: 'gx' } })),
    );
    await s.drainNow();
    const before = await env.db.query<{ seq: string }>(
      `SELECT seq FROM audit_checkpoint WHERE chain_id = $1 ORDER BY seq`,
      [t2],
    );
    expect(before.rowCount).toBeGreaterThanOrEqual(2);
    const n = await s.checkpointNow(0);
    expect(n).toBeGreaterThanOrEqual(1);
    const head = await env.db.query<{ head_seq: string; checkpoint_seq: string }>(
      `SELECT head_seq, checkpoint_seq FROM audit_chain WHERE chain_id = $1`,
      [t2],
    );
    expect(head.rows[0]!.checkpoint_seq).toBe(head.rows[0]!.head_seq);
    const [report] = await verifyChains(env.db, { chainId: t2, publicKeys: [env.key.publicKey] });
    expect(report!.ok).toBe(true);
    expect(report!.coveredThroughSeq).toBe(Number(head.rows[0]!.head_seq));
  });
});

describe('delivery', () => {
  it('processes on a BullMQ wake-up job', async () => {
    const s = env.newService({ bull: true });
    await s.start();
    const e = event({ connectionId: conn, guest: { vmid: 100 } });
    await insertEvents(env.db, [e]);
    const conn2 = new Redis(testRedisUrl(), { maxRetriesPerRequest: null });
    const queue = new Queue(QueueName.auditWakeup, { connection: conn2, prefix: env.prefix });
    try {
      await queue.add('wakeup', { reason: 'test', connectionId: null, count: 1 }, { jobId: jobId('test', e.eventId) });
      for (let i = 0; i < 200 && (await chainOf(e.dedupKey)).length === 0; i++)
        await new Promise((r) => setTimeout(r, 25));
      expect(await chainOf(e.dedupKey)).toEqual([t1]);
    } finally {
      await queue.close();
      await conn2.quit();
      await s.stop();
    }
  });

  it('a flushed Redis loses nothing: wake-up jobs deleted before any worker ran, the sweeper chains the rows', async () => {
    const events = Array.from({ length: 5 }, () => event({ connectionId: conn, guest: { vmid: 100 } }));
    await insertEvents(env.db, events);
    const conn2 = new Redis(testRedisUrl(), { maxRetriesPerRequest: null });
    const queue = new Queue(QueueName.auditWakeup, { connection: conn2, prefix: env.prefix });
    try {
      for (const e of events)
        await queue.add(
          'wakeup',
          { reason: 'test', connectionId: null, count: 1 },
          { jobId: jobId('test', e.eventId) },
        );
      // FLUSHALL of this run's keys (the Redis is shared with concurrent test files: only our prefix)
      let cursor = '0';
      do {
        const [next, keys] = await conn2.scan(cursor, 'MATCH', `${env.prefix}:*`, 'COUNT', 1000);
        if (keys.length > 0) await conn2.del(...keys);
        cursor = next;
      } while (cursor !== '0');
      expect(Object.values(await queue.getJobCounts()).every((n) => n === 0)).toBe(true); // the jobs are gone
      const s = env.newService({ bull: true, sweepIntervalMs: 20 });
      await s.start();
      try {
        const done = async () => (await Promise.all(events.map((e) => chainOf(e.dedupKey)))).every((c) => c.length > 0);
        for (let i = 0; i < 200 && !(await done()); i++) await new Promise((r) => setTimeout(r, 25));
        for (const e of events) expect(await chainOf(e.dedupKey)).toEqual([t1]);
      } finally {
        await s.stop();
      }
    } finally {
      await queue.close();
      await conn2.quit();
    }
  });

  it('the sweeper processes rows no wake-up announced (a flushed Redis loses nothing)', async () => {
    const s = env.newService({ sweepIntervalMs: 20 });
    await s.start();
    try {
      await new Promise((r) => setTimeout(r, 30));
      const e = event({ connectionId: conn, guest: { vmid: 100 } });
      await insertEvents(env.db, [e]);
      for (let i = 0; i < 200 && (await chainOf(e.dedupKey)).length === 0; i++)
        await new Promise((r) => setTimeout(r, 25));
      expect(await chainOf(e.dedupKey)).toEqual([t1]);
    } finally {
      await s.stop();
    }
  });
});
