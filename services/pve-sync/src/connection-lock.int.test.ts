import { afterAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { testRedisUrl, uniquePrefix } from '@tenantgate/testing';
import { ConnectionLock, DEFAULT_LOCK_TTL_MS } from './connection-lock.ts';

describe('ConnectionLock', () => {
  const redis = new Redis(testRedisUrl());
  afterAll(() => redis.quit());

  it('runs one holder at a time and releases after the run', async () => {
    const lock = new ConnectionLock(redis, uniquePrefix('lock'));
    let release!: () => void;
    const first = lock.withLock('c1', () => new Promise<string>((r) => (release = () => r('first'))));
    await new Promise((r) => setTimeout(r, 50));
    expect(await lock.withLock('c1', async () => 'second')).toEqual({ ran: false });
    release();
    expect(await first).toEqual({ ran: true, value: 'first' });
    expect(await lock.withLock('c1', async () => 'third')).toEqual({ ran: true, value: 'third' });
  });

  // Found by the fault test (kill -9 of pve-sync mid-poll): the lock lived 60 s, so the killed
  // worker's connection went unpolled for up to a minute and tripped SYNC-001.
  it('regression: a lock left by a killed poller blocks its connection for at most a short TTL', async () => {
    expect(DEFAULT_LOCK_TTL_MS).toBeLessThanOrEqual(15_000);
    const prefix = uniquePrefix('lock');
    const lock = new ConnectionLock(redis, prefix);
    // A holder that died mid-poll: its key is there, nobody extends or releases it.
    await redis.set(`${prefix}:pve-sync:lock:c2`, 'dead-holder', 'PX', DEFAULT_LOCK_TTL_MS);
    expect(await lock.withLock('c2', async () => 1)).toEqual({ ran: false });
    const ttl = await redis.pttl(`${prefix}:pve-sync:lock:c2`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(15_000);
    // Once it expires, the next poll runs.
    await redis.pexpire(`${prefix}:pve-sync:lock:c2`, 1);
    await new Promise((r) => setTimeout(r, 20));
    expect(await lock.withLock('c2', async () => 2)).toEqual({ ran: true, value: 2 });
  });

  it('a live holder keeps its lock beyond the TTL by extending it', async () => {
    const prefix = uniquePrefix('lock');
    const lock = new ConnectionLock(redis, prefix, 1_000);
    const other = new ConnectionLock(redis, prefix, 1_000);
    const run = lock.withLock('c3', () => new Promise((r) => setTimeout(() => r('done'), 2_500)));
    await new Promise((r) => setTimeout(r, 1_600));
    expect(await other.withLock('c3', async () => 'intruder')).toEqual({ ran: false });
    expect(await run).toEqual({ ran: true, value: 'done' });
  });
});
