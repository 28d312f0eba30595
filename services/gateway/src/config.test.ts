import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { GraphQLError } from 'graphql';
import { AppError } from '@tenantgate/shared';
import { loadConfig } from './config.ts';
import { formatError } from './http/errors.ts';

const key = Buffer.alloc(32, 7).toString('base64');

describe('gateway config', () => {
  it('applies the documented defaults', () => {
    const c = loadConfig({
      DATABASE_URL: 'postgres://u:p@127.0.0.1:5432/db',
      REDIS_URL: 'redis://127.0.0.1:6379',
      CREDENTIALS_KEY: key,
    });
    expect(c).toMatchObject({
      GATEWAY_HOST: '127.0.0.1',
      GATEWAY_PORT: 4000,
      INTROSPECTION: false,
      GRAPHIQL: false,
      MAX_PAGE_SIZE: 100,
      QUEUE_PREFIX: 'tenantgate',
    });
    expect(c.CREDENTIALS_KEY).toHaveLength(32);
    expect(c.AUDIT_PUBLIC_KEYS).toEqual([]);
  });

  it('parses AUDIT_PUBLIC_KEYS (base64 SPKI, comma-separated) and refuses anything else', () => {
    const base = {
      DATABASE_URL: 'postgres://u:p@127.0.0.1:5432/db',
      REDIS_URL: 'redis://127.0.0.1:6379',
      CREDENTIALS_KEY: key,
    };
    const spki = (k: KeyObject) => k.export({ type: 'spki', format: 'der' }).toString('base64');
    const a = generateKeyPairSync('ed25519').publicKey;
    const b = generateKeyPairSync('ed25519').publicKey;
    const c = loadConfig({ ...base, AUDIT_PUBLIC_KEYS: `${spki(a)}, ${spki(b)}` });
    expect(c.AUDIT_PUBLIC_KEYS.map(spki)).toEqual([spki(a), spki(b)]);
    expect(() => loadConfig({ ...base, AUDIT_PUBLIC_KEYS: 'not-a-key' })).toThrow(/AUDIT_PUBLIC_KEYS/);
  });

  it('reports every problem at once', () => {
    let message = '';
    try {
      loadConfig({ REDIS_URL: 'nope', CREDENTIALS_KEY: 'c2hvcnQ=', GATEWAY_PORT: '70000' });
    } catch (err) {
      message = (err as Error).message;
    }
    for (const v of ['DATABASE_URL', 'REDIS_URL', 'GATEWAY_PORT', 'CREDENTIALS_KEY']) expect(message).toContain(v);
  });
});

describe('formatError', () => {
  it('keeps AppError codes, keeps GraphQL validation errors, masks everything else', () => {
    const app = formatError(
      { message: 'x' },
      new GraphQLError('x', { originalError: AppError.notFound('Resource'), path: ['resource'] }),
    );
    expect(app).toEqual({ message: 'Resource not found', extensions: { code: 'NOT_FOUND' } });
    const validation = formatError(
      { message: 'Cannot query field', extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } },
      new GraphQLError('Cannot query field', { extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } }),
    );
    expect(validation.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    const internal = formatError(
      { message: 'relation "x" does not exist', path: ['a'] },
      new GraphQLError('relation "x" does not exist', {
        originalError: new Error('relation "x" does not exist'),
        extensions: { code: 'INTERNAL_SERVER_ERROR' },
      }),
    );
    expect(internal).toEqual({ message: 'Internal server error', path: ['a'], extensions: { code: 'INTERNAL' } });
  });
});
