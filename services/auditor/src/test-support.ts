// Helpers for this package's integration tests (not part of the public surface).
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import pg from 'pg';
import { Redis } from 'ioredis';
import { keyIdOf, type SigningKey } from '@tenantgate/audit-core';
import { createLogger, type AuditSourceEventInput } from '@tenantgate/shared';
import { createTestDatabase, testRedisUrl, uniquePrefix, type TestDatabase } from '@tenantgate/testing';
import { AuditorService, type AuditorOptions } from './auditor.ts';
import { insertInboxEvent } from './inbox-writer.ts';
import type { Clock } from './alerts/types.ts';
import type { Db } from './db.ts';

export function testSigningKey(): SigningKey {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return { keyId: keyIdOf(publicKey), privateKey, publicKey };
}

export class FakeClock implements Clock {
  constructor(public t: number = Date.parse('2026-11-20T12:00:00.000Z')) {}
  now(): Date {
    return new Date(this.t);
  }
  advance(ms: number): void {
    this.t += ms;
  }
}

export interface Env {
  database: TestDatabase;
  db: Db;
  redis: Redis;
  prefix: string;
  key: SigningKey;
  services: AuditorService[];
  newService(o?: Partial<AuditorOptions> & { clock?: Clock; bull?: boolean; pool?: Db }): AuditorService;
  close(): Promise<void>;
}

export async function setupEnv(label: string): Promise<Env> {
  const database = await createTestDatabase(label);
  const db = new pg.Pool({ connectionString: database.url, max: 8 });
  // DROP DATABASE ... WITH (FORCE) at the end terminates idle connections: expected, not a failure
  db.on('error', () => {});
  const redis = new Redis(testRedisUrl(), { maxRetriesPerRequest: null });
  const prefix = uniquePrefix(label);
  const key = testSigningKey();
  const logger = createLogger('auditor-test', 'silent');
  const services: AuditorService[] = [];
  const extra: Array<{ quit(): Promise<unknown> } | pg.Pool> = [];
  return {
    database,
    db,
    redis,
    prefix,
    key,
    services,
    newService(o = {}) {
      let bullConnection: Redis | undefined;
      if (o.bull) {
        bullConnection = new Redis(testRedisUrl(), { maxRetriesPerRequest: null });
        extra.push(bullConnection);
      }
      const s = new AuditorService({
        db: o.pool ?? db,
        redis,
        ...(bullConnection ? { bullConnection } : {}),
        signingKey: key,
        logger,
        ...(o.clock ? { clock: o.clock } : {}),
        options: {
          queuePrefix: prefix,
          batchSize: o.batchSize ?? 200,
          checkpointEveryRecords: o.checkpointEveryRecords ?? 1000,
          checkpointIntervalMs: o.checkpointIntervalMs ?? 3_600_000,
          sweepIntervalMs: o.sweepIntervalMs ?? 3_600_000,
          monitorIntervalMs: o.monitorIntervalMs ?? 3_600_000,
          verifyIntervalMs: o.verifyIntervalMs ?? 3_600_000,
          inboxRetentionIntervalMs: o.inboxRetentionIntervalMs ?? 3_600_000,
          ...(o.inboxRetentionMs !== undefined ? { inboxRetentionMs: o.inboxRetentionMs } : {}),
          ...(o.inboxRetentionBatch !== undefined ? { inboxRetentionBatch: o.inboxRetentionBatch } : {}),
          workerConcurrency: 1,
          poisonMaxAttempts: o.poisonMaxAttempts ?? 3,
          // tests retry failed rows at once (a timed wait would make them slow, not better)
          poisonRetryDelayMs: o.poisonRetryDelayMs ?? 0,
        },
      });
      services.push(s);
      return s;
    },
    async close() {
      for (const s of services) await s.stop();
      for (const e of extra) await (e as { quit?: () => Promise<unknown>; end?: () => Promise<void> }).quit?.();
      await redis.quit();
      await db.end();
      await database.drop();
    },
  };
}

let counter = 0;
/** A valid source event with sensible defaults. */
export function event(over: Partial<AuditSourceEventInput> = {}): AuditSourceEventInput {
  counter++;
  const at = over.occurredAt ?? new Date(Date.parse('2026-11-20T12:00:00.000Z') + counter * 1000).toISOString();
  return {
    eventId: randomUUID(),
    dedupKey: `test:${randomUUID()}`,
    source: 'pve.task',
    connectionId: null,
    occurredAt: at,
    observedAt: at,
    category: 'task',
    action: 'task.qmstart',
    outcome: 'success',
    actor: { type: 'pve-user', id: 'alice@pve', principal: 'alice@pve' },
    detection: 'reported',
    payload: {},
    ...over,
  };
}

export async function insertEvents(db: Db, events: AuditSourceEventInput[]): Promise<void> {
  for (const e of events) await insertInboxEvent(db, e);
}

/** Creates a tenant and a connection; returns their ids. */
export async function fixture(db: Db, slugs: string[]): Promise<{ tenants: string[]; connectionId: string }> {
  const tenants: string[] = [];
  for (const slug of slugs) {
    const r = await db.query<{ id: string }>(`INSERT INTO tenant (slug, name) VALUES ($1, $1) RETURNING id`, [slug]);
    tenants.push(r.rows[0]!.id);
  }
  const c = await db.query<{ id: string }>(
    `INSERT INTO pve_connection (name, base_url, token_id, secret_enc) VALUES ($1, 'https://pve.test:8006', 'sync@pve!t', '\\x00') RETURNING id`,
    [`conn-${randomUUID().slice(0, 8)}`],
  );
  return { tenants, connectionId: c.rows[0]!.id };
}

export async function assign(
  db: Db,
  a: {
    tenantId: string;
    connectionId: string;
    kind: 'guest' | 'pool' | 'connection';
    vmid?: number;
    pool?: string;
    from?: string;
    to?: string;
  },
): Promise<void> {
  await db.query(
    `INSERT INTO assignment (tenant_id, connection_id, kind, vmid, pool, valid_from, valid_to) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
    [
      a.tenantId,
      a.connectionId,
      a.kind,
      a.vmid ?? null,
      a.pool ?? null,
      a.from ?? '2020-01-01T00:00:00Z',
      a.to ?? null,
    ],
  );
}

export { uniquePrefix };
