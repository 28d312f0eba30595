import { describe, expect, it } from 'vitest';
import { ConfigError } from '@tenantgate/shared';
import { loadConfig } from './config.ts';

describe('auditor config', () => {
  it('applies defaults and coerces numbers', () => {
    const c = loadConfig({
      DATABASE_URL: 'postgres://u:p@127.0.0.1:5432/db',
      REDIS_URL: 'redis://127.0.0.1:6379',
      AUDIT_SIGNING_KEY: 'MC4CAQAwBQYDK2VwBCIEIJ+DYvh6SEqVTm50DFtMDoQikTmiCqirVv9mWG9qfSnF',
      BATCH_SIZE: '250',
    });
    expect(c).toMatchObject({
      QUEUE_PREFIX: 'tenantgate',
      BATCH_SIZE: 250,
      CHECKPOINT_EVERY_RECORDS: 1000,
      DRAIN_PARALLELISM: 2,
      POISON_MAX_ATTEMPTS: 3,
      POISON_RETRY_DELAY_MS: 10_000,
      VERIFY_INTERVAL_MS: 300_000,
      INBOX_RETENTION_HOURS: 168,
      INBOX_RETENTION_BATCH: 5000,
    });
  });

  it('reports every problem at once', () => {
    try {
      loadConfig({ BATCH_SIZE: '0', REDIS_URL: 'nope' });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const problems = (err as ConfigError).problems.join('\n');
      for (const v of ['DATABASE_URL', 'REDIS_URL', 'AUDIT_SIGNING_KEY', 'BATCH_SIZE']) expect(problems).toContain(v);
    }
  });
});
