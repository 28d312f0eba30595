import { describe, expect, it } from 'vitest';
import { AppError, createLogger, type Logger } from '@tenantgate/shared';
import { outageReporter, redisLost, serviceUnavailable, unavailableDependency } from './unavailable.ts';

/** What ioredis rejects a command with after `maxRetriesPerRequest` reconnects (its class name). */
class MaxRetriesPerRequestError extends Error {
  override name = 'MaxRetriesPerRequestError';
}

describe('unavailableDependency', () => {
  it('names the dependency that is briefly away, and nothing else', () => {
    expect(unavailableDependency(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }))).toBe(
      'postgres',
    );
    expect(unavailableDependency(new Error('driver', { cause: new Error('Connection terminated unexpectedly') }))).toBe(
      'postgres',
    );
    expect(unavailableDependency(new MaxRetriesPerRequestError('Reached the max retries per request limit'))).toBe(
      'redis',
    );
    expect(unavailableDependency(new Error('Connection is closed.'))).toBe('redis');
    expect(unavailableDependency(new Error('LOADING Redis is loading the dataset in memory'))).toBe('redis');
    // An AppError keeps its own code even when its cause is a refused connection (PVE unreachable).
    const pve = new AppError('PVE_UNREACHABLE', 'PVE unreachable', undefined, {
      cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
    });
    expect(unavailableDependency(pve)).toBeNull();
    expect(unavailableDependency(Object.assign(new Error('duplicate key'), { code: '23505' }))).toBeNull();
    const typed = serviceUnavailable('postgres', new Error('x'));
    expect([typed.code, typed.message, typed.details]).toEqual([
      'SERVICE_UNAVAILABLE',
      'The service is temporarily unavailable; retry',
      { retryAfterSeconds: 5, dependency: 'postgres' },
    ]);
    expect(
      unavailableDependency(new Error('WRONGTYPE Operation against a key holding the wrong kind of value')),
    ).toBeNull();
  });
});

describe('redisLost', () => {
  it('is true only for a connection that was lost and waits to reconnect', () => {
    const lost = (['close', 'reconnecting', 'end'] as const).map((status) => redisLost({ status }));
    const fine = (['ready', 'connecting', 'connect', 'wait'] as const).map((status) => redisLost({ status }));
    expect(lost).toEqual([true, true, true]);
    expect(fine).toEqual([false, false, false, false]);
  });
});

describe('outageReporter', () => {
  it('warns once per dependency per quiet period, then with the number suppressed meanwhile', () => {
    const lines: Array<{ fields: Record<string, unknown>; msg: string }> = [];
    const logger = createLogger('unavailable-test', 'silent');
    logger.warn = ((fields: Record<string, unknown>, msg: string) => {
      lines.push({ fields, msg });
    }) as Logger['warn'];
    let now = 0;
    const report = outageReporter(logger, 30_000, () => now);
    const pgDown = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    report('postgres', pgDown);
    now = 1_000;
    report('postgres', pgDown);
    report('postgres', pgDown);
    report('redis', new Error('Connection is closed.'));
    now = 31_000;
    report('postgres', pgDown);
    expect(lines.map((l) => [l.fields.dependency, l.fields.suppressed, l.fields.err])).toEqual([
      ['postgres', 0, pgDown],
      ['redis', 0, expect.any(Error)],
      ['postgres', 2, pgDown],
    ]);
    expect(lines[0]!.msg).toBe('postgres unavailable: requests answer SERVICE_UNAVAILABLE (503)');
  });
});
