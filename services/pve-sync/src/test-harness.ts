// Test-only wiring shared by the integration tests: a fresh database, the real simulator, real
// queues, and a poller built from them. Not exported from the package entry.
import { randomBytes } from 'node:crypto';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { createLogger, createOrm, QueueName, type Orm } from '@tenantgate/shared';
import { createTestDatabase, testRedisUrl, uniquePrefix, type TestDatabase } from '@tenantgate/testing';
import { startSimulator, type SimCluster, type Simulator } from '@tenantgate/pve-sim';
import { pveClientFactory, type ClientSettings } from './client-factory.ts';
import { createConnection } from './connections.ts';
import { ConnectionPoller } from './poller.ts';
import { defaultSourceSettings, type SourceSettings } from './source-context.ts';
import { sqlOf } from './sql.ts';
import { AuditWakeup } from './wakeup.ts';

export interface Harness {
  db: TestDatabase;
  orm: Orm;
  redis: Redis;
  prefix: string;
  key: Buffer;
  sim: Simulator;
  wakeups: Queue;
  poller(opts?: { settings?: Partial<SourceSettings>; client?: Partial<ClientSettings> }): ConnectionPoller;
  connect(
    cluster: SimCluster,
    over?: { secret?: string; fingerprint?: string | null; pollIntervalMs?: number },
  ): Promise<string>;
  query<R = Record<string, unknown>>(text: string, params?: unknown[]): Promise<R[]>;
  close(): Promise<void>;
}

export const testLogger = createLogger('pve-sync-test', 'silent');

export async function createHarness(label: string): Promise<Harness> {
  const db = await createTestDatabase(label);
  const orm = await createOrm({ databaseUrl: db.url, poolMax: 5 });
  const redis = new Redis(testRedisUrl(), { maxRetriesPerRequest: null });
  const prefix = uniquePrefix(label);
  const key = randomBytes(32);
  const sim = await startSimulator({ scenario: 'demo', seed: 1 });
  const wakeups = new Queue(QueueName.auditWakeup, { connection: redis, prefix });
  const publisher = new AuditWakeup(wakeups, testLogger);
  const pollers: ConnectionPoller[] = [];
  return {
    db,
    orm,
    redis,
    prefix,
    key,
    sim,
    wakeups,
    poller(opts = {}) {
      const poller = new ConnectionPoller({
        em: orm.em,
        credentialsKey: key,
        clientFactory: pveClientFactory({ timeoutMs: 5_000, retries: 0, concurrency: 4, ...opts.client }),
        settings: { ...defaultSourceSettings, ...opts.settings },
        logger: testLogger,
        wakeup: (connectionId, source, inserted, commitKey) =>
          publisher.publish(connectionId, source, inserted, commitKey),
      });
      pollers.push(poller);
      return poller;
    },
    async connect(cluster, over = {}) {
      return await createConnection(orm.em.fork(), key, {
        name: `${cluster.name}-${randomBytes(3).toString('hex')}`,
        baseUrl: cluster.url,
        fingerprint: over.fingerprint === undefined ? cluster.fingerprint : over.fingerprint,
        tokenId: cluster.syncToken.tokenId,
        secret: over.secret ?? cluster.syncToken.secret,
        pollIntervalMs: over.pollIntervalMs ?? 60_000,
      });
    },
    async query<R>(text: string, params: unknown[] = []): Promise<R[]> {
      return await sqlOf(orm.em.fork()).query<R>(text, params);
    },
    async close() {
      await Promise.all(pollers.map((p) => p.close()));
      await wakeups.close();
      await sim.stop();
      redis.disconnect();
      await orm.close(true);
      await db.drop();
    },
  };
}
