import type { Logger } from '@tenantgate/shared';

/** Node socket errors of a database that is down, restarting or unreachable. */
const TRANSIENT_ERRNO = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'EAI_AGAIN']);
/**
 * PostgreSQL SQLSTATEs that say "try again": connection exceptions (class 08), shutdown/startup
 * (57P01 admin_shutdown, 57P02 crash_shutdown, 57P03 cannot_connect_now), too many connections.
 */
const TRANSIENT_SQLSTATE = /^(08...|57P0[123]|53300)$/;
/** What node-postgres and its pool say when the server went away under them. */
const TRANSIENT_MESSAGE =
  /Connection terminated|connection error|not yet accepting connections|the database system is (starting up|shutting down|in recovery)|timeout exceeded when trying to connect/i;

/**
 * Whether `err` is the database being briefly unavailable (a restart, a dropped connection), as
 * opposed to a query that can never succeed. MikroORM wraps driver errors: the cause chain is read.
 */
export function isTransientDbError(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && typeof e === 'object' && depth < 5; depth++) {
    const x = e as { code?: unknown; sqlState?: unknown; errno?: unknown; message?: unknown; cause?: unknown };
    for (const code of [x.code, x.sqlState, x.errno])
      if (typeof code === 'string' && (TRANSIENT_ERRNO.has(code) || TRANSIENT_SQLSTATE.test(code))) return true;
    if (typeof x.message === 'string' && TRANSIENT_MESSAGE.test(x.message)) return true;
    e = x.cause;
  }
  return false;
}

/**
 * ioredis's own failures while Redis is down or restarting: a command that waited through
 * `maxRetriesPerRequest` reconnects, a connection that gave up, or one without an offline queue.
 */
const REDIS_UNAVAILABLE_MESSAGE =
  /^(Connection is closed\.|Stream isn't writeable and enableOfflineQueue options is false|None of startup nodes is available)$/;
/** Redis replies that say "try again" (loading its dataset, a failover or a resharding in progress). */
const REDIS_TRANSIENT_REPLY = /^(LOADING|MASTERDOWN|TRYAGAIN|CLUSTERDOWN) /;

/**
 * Whether `err` is Redis being briefly unavailable (down, restarting, loading), as opposed to a
 * command that can never succeed. Socket errors (ECONNREFUSED, …) are the database's too: ask
 * `isTransientDbError` for those. The cause chain is read (BullMQ and callers may wrap).
 */
export function isRedisUnavailable(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && typeof e === 'object' && depth < 5; depth++) {
    const x = e as { name?: unknown; message?: unknown; cause?: unknown };
    if (x.name === 'MaxRetriesPerRequestError') return true;
    if (
      typeof x.message === 'string' &&
      (REDIS_UNAVAILABLE_MESSAGE.test(x.message) || REDIS_TRANSIENT_REPLY.test(x.message))
    )
      return true;
    e = x.cause;
  }
  return false;
}

export interface RetryOptions {
  logger: Logger;
  /** For the log line: what was being read. */
  what: string;
  /** The stream ended meanwhile: stop retrying and rethrow. */
  stopped?: () => boolean;
  minMs?: number;
  maxMs?: number;
}

/**
 * Runs `fn` again, with a doubling delay (100 ms → 5 s), while it fails because the database is
 * briefly unavailable; any other failure, or one after the stream stopped, is rethrown. An open
 * subscription thus waits out a Postgres restart instead of ending with a masked INTERNAL.
 */
export async function retryTransient<T>(fn: () => Promise<T>, opts: RetryOptions): Promise<T> {
  let delay = opts.minMs ?? 100;
  let logged = false;
  for (;;) {
    try {
      const result = await fn();
      if (logged) opts.logger.info({ what: opts.what }, 'database reachable again');
      return result;
    } catch (err) {
      if (!isTransientDbError(err) || opts.stopped?.()) throw err;
      if (!logged) opts.logger.warn({ err, what: opts.what }, 'database unavailable; retrying');
      logged = true;
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, opts.maxMs ?? 5000);
    }
  }
}
