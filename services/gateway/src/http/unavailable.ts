import type { Redis } from 'ioredis';
import { AppError, ErrorCode, isAppError, warnRateLimited, type Logger } from '@tenantgate/shared';
import { isRedisUnavailable, isTransientDbError } from '../subscriptions/transient.ts';

/** What a client sees while Postgres or Redis is briefly unavailable (HTTP 503 + Retry-After). */
export const SERVICE_UNAVAILABLE_MESSAGE = 'The service is temporarily unavailable; retry';
/** A PostgreSQL restart (crash recovery included) or a Redis restart takes seconds. */
export const RETRY_AFTER_SECONDS = 5;

export type Dependency = 'postgres' | 'redis';

/**
 * Which dependency `err` says is briefly unavailable (subscriptions/transient.ts decides), or
 * null. An AppError is never reclassified: a PVE_UNREACHABLE caused by ECONNREFUSED stays itself.
 */
export function unavailableDependency(err: unknown): Dependency | null {
  if (isAppError(err)) return null;
  if (isRedisUnavailable(err)) return 'redis';
  if (isTransientDbError(err)) return 'postgres';
  return null;
}

/**
 * Whether an ioredis connection was lost and waits to reconnect ('close', 'reconnecting', 'end'): a
 * command would sit in its offline queue through `maxRetriesPerRequest` reconnects, seconds once
 * the backoff has grown. A connection still opening for the first time ('connecting', 'connect')
 * is not lost: its commands run as soon as it is ready.
 */
export function redisLost(connection: Pick<Redis, 'status'>): boolean {
  return connection.status === 'close' || connection.status === 'reconnecting' || connection.status === 'end';
}

/** The typed form of an unavailable dependency: SERVICE_UNAVAILABLE, retryable after a few seconds. */
export function serviceUnavailable(dependency: Dependency, cause: unknown): AppError {
  return new AppError(
    ErrorCode.SERVICE_UNAVAILABLE,
    SERVICE_UNAVAILABLE_MESSAGE,
    { retryAfterSeconds: RETRY_AFTER_SECONDS, dependency },
    { cause },
  );
}

/** Records one request refused because `dependency` is unavailable. */
export type OutageReporter = (dependency: Dependency, err: unknown) => void;

/**
 * Logs an outage at warn once per dependency, then at most every `everyMs` with the number of
 * refusals suppressed meanwhile (shared `warnRateLimited`): one line per outage-ish instead of an
 * error with a stack per request.
 */
export function outageReporter(logger: Logger, everyMs = 30_000, now: () => number = Date.now): OutageReporter {
  const warnings: Record<Dependency, (err: unknown) => void> = {
    postgres: warnRateLimited(
      logger,
      'postgres unavailable: requests answer SERVICE_UNAVAILABLE (503)',
      { dependency: 'postgres' },
      everyMs,
      now,
    ),
    redis: warnRateLimited(
      logger,
      'redis unavailable: requests that need it answer SERVICE_UNAVAILABLE (503)',
      { dependency: 'redis' },
      everyMs,
      now,
    ),
  };
  return (dependency, err) => warnings[dependency](err);
}
