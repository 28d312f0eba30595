// An end-to-end stack like test/src/harness.ts (simulator in this process, a fresh database, the
// three services as child processes), with extra service environment: the fuzz and the bad-input
// corpus need introspection on, and the corpus raises the login throttles it would otherwise trip.
import pg from 'pg';
import { startSimulator, type Simulator } from '@tenantgate/pve-sim';
import { createTestDatabase, testRedisUrl, uniquePrefix, type TestDatabase } from '@tenantgate/testing';
import {
  freePort,
  generateSecrets,
  seedDemo,
  startServices,
  type DemoLogin,
  type DemoSeed,
  type ServiceProcess,
} from '@tenantgate/stack';

export interface FuzzStack {
  sim: Simulator;
  db: TestDatabase;
  sql: pg.Client;
  seed: DemoSeed;
  services: ServiceProcess[];
  gateway: ServiceProcess;
  baseUrl: string;
  gatewayUrl: string;
  wsUrl: string;
  logs: string[];
  login(username: string): DemoLogin;
  stop(): Promise<void>;
}

export interface FuzzStackOptions {
  /** Environment for every service (e.g. INTROSPECTION, LOGIN_IP_LIMIT, PVE_TIMEOUT_MS). */
  env?: Record<string, string>;
  pollIntervalMs?: number;
}

export async function startFuzzStack(label: string, options: FuzzStackOptions = {}): Promise<FuzzStack> {
  const sim = await startSimulator({ scenario: 'demo', seed: 1, activity: false });
  const db = await createTestDatabase(label);
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
  const port = await freePort();
  const logs: string[] = [];
  const sql = new pg.Client({ connectionString: db.url });
  await sql.connect();
  let services: ServiceProcess[] = [];
  const stop = async () => {
    await Promise.all(services.map((s) => s.stop()));
    await sql.end().catch(() => {});
    await sim.stop();
    await db.drop();
  };
  try {
    services = await startServices({
      databaseUrl: db.url,
      redisUrl: testRedisUrl(),
      queuePrefix: uniquePrefix(label),
      gatewayHost: '127.0.0.1',
      gatewayPort: port,
      secrets,
      logLevel: 'info',
      onLine: (service, line) => logs.push(`[${service}] ${line}`),
      extraEnv: { INTROSPECTION: 'true', ...options.env },
    });
  } catch (err) {
    await stop();
    throw new Error(`${String(err)}\n--- service logs ---\n${logs.slice(-60).join('\n')}`, { cause: err });
  }
  return {
    sim,
    db,
    sql,
    seed,
    services,
    gateway: services.find((s) => s.label === 'gateway')!,
    baseUrl: `http://127.0.0.1:${port}`,
    gatewayUrl: `http://127.0.0.1:${port}/graphql`,
    wsUrl: `ws://127.0.0.1:${port}/graphql`,
    logs,
    login: (username) => {
      const l = seed.logins.find((x) => x.username === username);
      if (!l) throw new Error(`no demo login ${username}`);
      return l;
    },
    stop,
  };
}

/** Log lines of a service at level error or above, or that look like a crash. */
export function crashLines(logs: string[], service: string): string[] {
  return logs.filter((line) => {
    if (!line.startsWith(`[${service}]`)) return false;
    const body = line.slice(service.length + 3);
    try {
      const rec = JSON.parse(body) as { level?: number };
      return (rec.level ?? 30) >= 60;
    } catch {
      return /uncaught|unhandled|fatal|RangeError|TypeError|heap out of memory/i.test(body);
    }
  });
}
