// Regression (issue 6.3): AUDIT-002 looked at inbox age only; failed BullMQ wake-up jobs (a drain
// that keeps failing) raised nothing. Now they are part of the stall signal, and a failed drain
// fails its wake-up job.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { QueueName } from '@tenantgate/shared';
import { testRedisUrl } from '@tenantgate/testing';
import { assign, event, fixture, insertEvents, setupEnv, type Env } from './test-support.ts';
import { seedStarterRules } from './alerts/seed.ts';

let env: Env;
let tenant: string;
let conn: string;
let redis: Redis;
let queue: Queue;

beforeAll(async () => {
  env = await setupEnv('auditstall');
  const f = await fixture(env.db, ['stall']);
  tenant = f.tenants[0]!;
  conn = f.connectionId;
  await assign(env.db, { tenantId: tenant, connectionId: conn, kind: 'connection' });
  await seedStarterRules(env.db);
  redis = new Redis(testRedisUrl(), { maxRetriesPerRequest: null });
  queue = new Queue(QueueName.auditWakeup, { connection: redis, prefix: env.prefix });
});
afterAll(async () => {
  await queue.close();
  await redis.quit();
  await env.close();
});

async function stallAlerts(): Promise<Array<{ dedup_key: string; state: string }>> {
  const r = await env.db.query<{ dedup_key: string; state: string }>(
    `SELECT a.dedup_key, a.state FROM alert a JOIN alert_rule r ON r.id = a.rule_id WHERE r.code = 'AUDIT-002' ORDER BY a.created_at`,
  );
  return r.rows;
}

async function waitFor(cond: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 400 && !(await cond()); i++) await new Promise((r) => setTimeout(r, 25));
}

describe('regression: AUDIT-002 ignored failed wake-up jobs', () => {
  it('fires on failed wake-up jobs although the inbox is empty, and resolves when they are gone', async () => {
    const s = env.newService({ bull: true });
    const workerRedis = new Redis(testRedisUrl(), { maxRetriesPerRequest: null });
    const failing = new Worker(
      QueueName.auditWakeup,
      async () => {
        throw new Error('drain failed');
      },
      { connection: workerRedis, prefix: env.prefix },
    );
    try {
      for (let i = 0; i < 3; i++) await queue.add('wakeup', { reason: 'test', connectionId: null, count: 1 });
      await waitFor(async () => ((await queue.getJobCounts('failed'))['failed'] ?? 0) >= 3);
    } finally {
      await failing.close();
      await workerRedis.quit();
    }
    await s.runMonitors();
    expect(await stallAlerts()).toEqual([{ dedup_key: 'wakeup-failed', state: 'firing' }]);
    await queue.clean(0, 1000, 'failed');
    await s.runMonitors();
    expect(await stallAlerts()).toEqual([{ dedup_key: 'wakeup-failed', state: 'resolved' }]);
  });

  it('a wake-up job fails when its drain fails (here: the chain head stays locked)', async () => {
    await insertEvents(env.db, [event({ connectionId: conn })]);
    await env.newService().drainNow(); // the tenant's chain exists now
    await insertEvents(env.db, [event({ connectionId: conn })]);
    const holder = await env.db.connect();
    const pool = new pg.Pool({ connectionString: env.database.url, max: 2, options: '-c lock_timeout=200' });
    pool.on('error', () => {});
    const s = env.newService({ bull: true, pool });
    try {
      await holder.query('BEGIN');
      await holder.query(`SELECT 1 FROM audit_chain WHERE chain_id = $1 FOR UPDATE`, [tenant]);
      await s.start();
      await queue.add('wakeup', { reason: 'test', connectionId: null, count: 1 });
      await waitFor(async () => ((await queue.getJobCounts('failed'))['failed'] ?? 0) >= 1);
      const [job] = await queue.getJobs(['failed'], 0, 0, false);
      expect(job!.failedReason).toMatch(/inbox drain failed/);
    } finally {
      await holder.query('ROLLBACK');
      holder.release();
      await s.stop();
      await pool.end();
    }
  });
});
