// When Redis goes away, every Redis client, BullMQ Queue and Worker of the three services has an
// 'error' listener: no "[ioredis] Unhandled error event" noise (that is what an emitter without a
// listener prints), one warning per client and outage rather than one per reconnect attempt, and
// every service keeps running and works again once Redis is back.
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { LocalRedis, dataDir } from '@tenantgate/stack';
import { eventually, startE2eStack, type E2eStack } from '../src/harness.ts';
import { sleep } from './support/fault-stack.ts';

/** How long Redis stays down: ioredis retries every few hundred ms, so each client errs many times. */
const OUTAGE_MS = 8000;

describe('a Redis outage', () => {
  let redis: LocalRedis;
  let work: string;
  let stack: E2eStack;
  let db: pg.Pool;

  beforeAll(async () => {
    work = await mkdtemp(join(dataDir, 'redis-outage-'));
    redis = new LocalRedis({ dataDir: work, persistent: false });
    stack = await startE2eStack('redisoutage', { redisUrl: await redis.start() });
    db = new pg.Pool({ connectionString: stack.db.url, max: 2 });
    db.on('error', () => {});
  });

  afterAll(async () => {
    await db?.end().catch(() => undefined);
    await stack?.stop();
    await redis?.stop();
    await rm(work, { recursive: true, force: true });
  });

  const records = async (): Promise<number> =>
    Number((await db.query('SELECT count(*) AS n FROM audit_record')).rows[0].n);

  it('is logged as warnings, without "Unhandled error event", and every service recovers', async () => {
    // Every queue and worker is in use: the initial sync went through pve-sync and the auditor.
    await eventually(async () => ((await records()) > 0 ? true : undefined), 60_000, 'the initial sync chained');
    const before = stack.logs.length;

    await redis.stop();
    await sleep(OUTAGE_MS);
    const during = stack.logs.slice(before);
    await redis.start(); // same port, empty

    // Once Redis is back, the pipeline works again end to end: a new event is chained.
    const alpha = stack.sim.cluster('alpha');
    const guest = [...alpha.state.guests.values()].find((g) => !g.template)!;
    const upid = alpha.addTask({
      node: guest.node,
      type: 'qmstart',
      id: String(guest.vmid),
      user: 'root@pam',
      status: 'start failed: probe after a Redis outage',
    });
    await eventually(
      async () => {
        const { rows } = await db.query('SELECT 1 FROM audit_record WHERE upid = $1', [upid]);
        return rows.length > 0 ? true : undefined;
      },
      90_000,
      'the probe task chained after the outage',
    );

    expect(stack.services.every((s) => s.running)).toBe(true);
    expect(during.filter((l) => /Unhandled error event/i.test(l))).toEqual([]);
    const warnings = during.filter((l) => /"level":40/.test(l) && /redis|queue|worker/i.test(l));
    for (const service of ['gateway', 'auditor', 'pve-sync']) {
      expect(
        warnings.some((l) => l.startsWith(`[${service}]`)),
        `${service} warns about the outage`,
      ).toBe(true);
    }
    // Rate-limited in the auditor and pve-sync: a handful of lines, not one per reconnect attempt and
    // client. (The gateway's composition root still warns on every attempt of its two clients.)
    const perService = Object.fromEntries(
      ['gateway', 'auditor', 'pve-sync'].map((s) => [s, during.filter((l) => l.startsWith(`[${s}]`)).length]),
    );
    console.info(`log lines during a ${OUTAGE_MS} ms Redis outage: ${JSON.stringify(perService)}`);
    expect(perService['auditor']).toBeLessThanOrEqual(6);
    expect(perService['pve-sync']).toBeLessThanOrEqual(6);
  }, 180_000);
});
