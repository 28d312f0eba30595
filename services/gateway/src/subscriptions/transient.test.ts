import { describe, expect, it } from 'vitest';
import { isTransientDbError } from './transient.ts';

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
