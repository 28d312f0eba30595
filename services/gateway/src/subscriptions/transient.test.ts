import { describe, expect, it } from 'vitest';
import { isRedisUnavailable, isTransientDbError } from './transient.ts';

describe('isTransientDbError', () => {
  it('knows a database that is down or restarting from a query that can never succeed', () => {
    const transient = [
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }),
      Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }),
      Object.assign(new Error('the database system is not yet accepting connections'), { code: '57P03' }),
      new Error('Connection terminated unexpectedly'),
      new Error('wrapped by the ORM', { cause: Object.assign(new Error('x'), { code: '08006' }) }),
    ];
    for (const e of transient) expect(isTransientDbError(e), e.message).toBe(true);
    const permanent = [
      Object.assign(new Error('invalid input syntax for type uuid: "x"'), { code: '22P02' }),
      Object.assign(new Error('duplicate key value'), { code: '23505' }),
      new Error('boom'),
      null,
      'ECONNREFUSED',
    ];
    for (const e of permanent) expect(isTransientDbError(e), String(e)).toBe(false);
  });
});

describe('isRedisUnavailable', () => {
  it('knows ioredis giving up on a Redis that is down or loading from a command that can never succeed', () => {
    const maxRetries = Object.assign(new Error('Reached the max retries per request limit (which is 3).'), {
      name: 'MaxRetriesPerRequestError',
    });
    const unavailable = [
      maxRetries,
      new Error('Connection is closed.'),
      new Error("Stream isn't writeable and enableOfflineQueue options is false"),
      new Error('LOADING Redis is loading the dataset in memory'),
      new Error('wrapped by BullMQ', { cause: maxRetries }),
    ];
    for (const e of unavailable) expect(isRedisUnavailable(e), e.message).toBe(true);
    const permanent = [
      new Error('WRONGTYPE Operation against a key holding the wrong kind of value'),
      new Error('ERR unknown command'),
      new Error('Connection is closed by policy'),
      null,
      'Connection is closed.',
    ];
    for (const e of permanent) expect(isRedisUnavailable(e), String(e)).toBe(false);
  });
});
