// End-to-end harness: the PVE simulator in this process, a fresh database copied from the migrated
// template, the run's Redis with a unique queue prefix, the demo seed, and the three services as
// real child processes — the same code path as `npm start`.
import { startSimulator, type Simulator } from '@tenantgate/pve-sim';
import { createTestDatabase, testRedisUrl, uniquePrefix, type TestDatabase } from '@tenantgate/testing';
import {
  freePort,
  generateSecrets,
  seedDemo,
  startServices,
  type DemoSeed,
  type ServiceProcess,
} from '@tenantgate/stack';

export interface E2eStack {
  sim: Simulator;
  db: TestDatabase;
  redisUrl: string;
  queuePrefix: string;
  seed: DemoSeed;
  services: ServiceProcess[];
  gatewayUrl: string;
  wsUrl: string;
  logs: string[];
  stop(): Promise<void>;
}

export interface E2eStackOptions {
  pollIntervalMs?: number;
  /** Environment for every service (e.g. INTROSPECTION, LOGIN_IP_LIMIT, PVE_TIMEOUT_MS). */
  env?: Record<string, string>;
  /** A Redis of the test's own (e.g. one it stops); default: the run's Redis. */
  redisUrl?: string;
}

export async function startE2eStack(label: string, options: E2eStackOptions = {}): Promise<E2eStack> {
  const sim = await startSimulator({ scenario: 'demo', seed: 1, activity: false });
  const db = await createTestDatabase(label);
  const redisUrl = options.redisUrl ?? testRedisUrl();
  const queuePrefix = uniquePrefix(label);
  const secrets = generateSecrets();
  const seed = await seedDemo({
    databaseUrl: db.url,
    clusters: sim.clusters.map((c) => ({
      name: c.name,
      url: c.url,
      fingerprint: c.fingerprint,
      syncToken: c.syncToken,
    })),
    credentialsKey: Buffer.from(secrets.credentialsKey, 'base64'),
    passwords: {},
    pollIntervalMs: options.pollIntervalMs ?? 1000,
  });
  const gatewayPort = await freePort();
  const logs: string[] = [];
  let services: ServiceProcess[] = [];
  const stop = async () => {
    await Promise.all(services.map((s) => s.stop()));
    await sim.stop();
    await db.drop();
  };
  try {
    services = await startServices({
      databaseUrl: db.url,
      redisUrl,
      queuePrefix,
      gatewayHost: '127.0.0.1',
      gatewayPort,
      secrets,
      logLevel: 'info',
      onLine: (service, line) => logs.push(`[${service}] ${line}`),
      ...(options.env ? { extraEnv: options.env } : {}),
    });
  } catch (err) {
    await stop();
    throw new Error(`${String(err)}\n--- service logs ---\n${logs.slice(-60).join('\n')}`, { cause: err });
  }
  return {
    sim,
    db,
    redisUrl,
    queuePrefix,
    seed,
    services,
    gatewayUrl: `http://127.0.0.1:${gatewayPort}/graphql`,
    wsUrl: `ws://127.0.0.1:${gatewayPort}/graphql`,
    logs,
    stop,
  };
}

/** Polls `check` until it returns a value other than undefined, or fails with the last reason. */
export async function eventually<T>(
  check: () => Promise<T | undefined>,
  timeoutMs = 30_000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}
