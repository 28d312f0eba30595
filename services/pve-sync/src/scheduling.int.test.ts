// Two pve-sync processes (two SyncService instances with their own ORM and Redis connections)
// share the job schedulers: each connection has one scheduler, and each scheduled iteration is
// polled exactly once.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Queue, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { createOrm, QueueName, type Orm } from '@tenantgate/shared';
import { testRedisUrl } from '@tenantgate/testing';
import { pveClientFactory } from './client-factory.ts';
import { SyncService } from './sync-service.ts';
import { createHarness, testLogger, type Harness } from './test-harness.ts';

let h: Harness;
const owned: Array<{ orm: Orm; redis: Redis; service: SyncService }> = [];

async function startProcess(): Promise<SyncService> {
  const orm = await createOrm({ databaseUrl: h.db.url, poolMax: 4 });
  const redis = new Redis(testRedisUrl(), { maxRetriesPerRequest: null });
  const service = new SyncService({
    orm,
    redis,
    logger: testLogger,
    credentialsKey: h.key,
    clientFactory: pveClientFactory({ timeoutMs: 5_000, retries: 0, concurrency: 4 }),
    queuePrefix: h.prefix,
    pollConcurrency: 2,
    reconcileIntervalMs: 200,
  });
  owned.push({ orm, redis, service });
  await service.start();
  return service;
}

beforeAll(async () => {
  h = await createHarness('sched');
});
afterAll(async () => {
  for (const p of owned) {
    await p.service.stop();
    p.redis.disconnect();
    await p.orm.close(true);
  }
  await h?.close();
});

it('two processes poll each connection once per scheduled iteration', async () => {
  const alpha = await h.connect(h.sim.cluster('alpha'), { pollIntervalMs: 1000 });
  const beta = await h.connect(h.sim.cluster('beta'), { pollIntervalMs: 1000 });
  const events = new QueueEvents(QueueName.syncPoll, {
    connection: new Redis(testRedisUrl(), { maxRetriesPerRequest: null }),
    prefix: h.prefix,
  });
  await events.waitUntilReady();
  const completed: Array<{ jobId: string; result: { connectionId: string; status: string } }> = [];
  const enough = new Promise<void>((resolve) => {
    events.on('completed', ({ jobId, returnvalue }) => {
      completed.push({ jobId, result: returnvalue as unknown as { connectionId: string; status: string } });
      const per = (id: string): number => completed.filter((c) => c.result.connectionId === id).length;
      if (per(alpha) >= 3 && per(beta) >= 3) resolve();
    });
  });
  const [p1] = await Promise.all([startProcess(), startProcess()]);
  await enough;
  await Promise.all(owned.map((p) => p.service.stop()));
  await events.close();

  const queue = new Queue(QueueName.syncPoll, { connection: h.redis, prefix: h.prefix });
  expect(await queue.getJobSchedulersCount()).toBe(2);
  // No iteration was processed twice.
  expect(new Set(completed.map((c) => c.jobId)).size).toBe(completed.length);
  for (const conn of [alpha, beta]) {
    const polls = completed.filter(
      (c) => c.result.connectionId === conn && ['ok', 'partial', 'failed'].includes(c.result.status),
    );
    expect(polls.length).toBeGreaterThanOrEqual(1);
    // Each poll recorded the connection's health exactly once: v counts the polls that ran.
    const [row] = await h.query<{ v: number }>(
      `SELECT (cursor->>'v')::int AS v FROM sync_cursor WHERE connection_id = $1 AND source = 'connection'`,
      [conn],
    );
    expect(row!.v).toBe(polls.length);
  }

  // Disabling a connection removes its scheduler; a new interval replaces the old one.
  await h.query(`UPDATE pve_connection SET enabled = false WHERE id = $1`, [beta]);
  await h.query(`UPDATE pve_connection SET poll_interval_ms = 5000 WHERE id = $1`, [alpha]);
  const p3 = new SyncService({
    orm: h.orm,
    redis: h.redis,
    logger: testLogger,
    credentialsKey: h.key,
    clientFactory: pveClientFactory({ timeoutMs: 5_000, retries: 0, concurrency: 4 }),
    queuePrefix: h.prefix,
    reconcileIntervalMs: 60_000,
  });
  await p3.start();
  await p3.stop();
  const schedulers = await queue.getJobSchedulers(0, -1);
  expect(schedulers.map((s) => [s.key, s.every])).toEqual([[expect.stringContaining(alpha.replace(/-/g, '-')), 5000]]);
  await queue.close();
  void p1;
});
