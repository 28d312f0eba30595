// At most one poll of a connection at a time across all pve-sync processes. The job schedulers
// give one job per interval, but a poll that outlasts its interval (a first sync of a large
// cluster) would otherwise overlap with the next iteration taken by another worker.
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';

const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;
const EXTEND = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`;

export const DEFAULT_LOCK_TTL_MS = 15_000;

export class ConnectionLock {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    /**
     * How long a lock outlives a holder that died (kill -9 mid-poll). A live holder extends it every
     * ttl/3, so it only needs to cover a stalled event loop; it must stay short, or a crashed poller
     * leaves its connection unpolled (and SYNC-001 firing) until it expires.
     */
    private readonly ttlMs = DEFAULT_LOCK_TTL_MS,
  ) {}

  /** Runs `fn` holding the connection's lock; returns undefined without running it when the lock is held elsewhere. */
  async withLock<T>(connectionId: string, fn: () => Promise<T>): Promise<{ ran: true; value: T } | { ran: false }> {
    const key = `${this.prefix}:pve-sync:lock:${connectionId}`;
    const token = randomUUID();
    const ok = await this.redis.set(key, token, 'PX', this.ttlMs, 'NX');
    if (ok !== 'OK') return { ran: false };
    const timer = setInterval(
      () => {
        this.redis.eval(EXTEND, 1, key, token, String(this.ttlMs)).catch(() => undefined);
      },
      Math.floor(this.ttlMs / 3),
    );
    try {
      return { ran: true, value: await fn() };
    } finally {
      clearInterval(timer);
      await this.redis.eval(RELEASE, 1, key, token).catch(() => undefined);
    }
  }
}
