// An end-to-end stack that a test may break: its own PostgreSQL (persistent data directory, fixed
// port, so it can be stopped with `-m immediate` and started again) and its own Redis (fixed port,
// no persistence: a restart starts empty), the PVE simulator in this process, the demo seed, and
// any number of each service as real child processes. Nothing here touches the run's shared
// Postgres/Redis, which other test files use concurrently.
import { createPublicKey, randomBytes } from 'node:crypto';
import { chmod, mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { Redis } from 'ioredis';
import { migrateDatabase } from '@tenantgate/shared';
import { startSimulator, type Simulator } from '@tenantgate/pve-sim';
import {
  LocalPostgres,
  LocalRedis,
  ServiceProcess,
  freePort,
  generateSecrets,
  repoRoot,
  seedDemo,
  serviceEnv,
  waitForHttp,
  type DemoSeed,
  type ServiceName,
  type StackSecrets,
} from '@tenantgate/stack';

export interface FaultStackOptions {
  /** How many processes of each service (default one each). */
  instances?: Partial<Record<ServiceName, number>>;
  /** Poll interval of every seeded PVE connection (ms, >= 1000). */
  pollIntervalMs?: number;
  /** Extra environment for every service (e.g. shorter sweep/reconcile intervals). */
  extraEnv?: Record<string, string>;
  simulatorSeed?: number;
  /** LOG_LEVEL per service (default info). */
  logLevels?: Partial<Record<ServiceName, string>>;
}

export interface ServiceInstance {
  name: ServiceName;
  label: string;
  process: ServiceProcess;
  /** Gateway only: its port and URLs. */
  port?: number;
  httpUrl?: string;
  wsUrl?: string;
}

type LineListener = (label: string, line: string) => void;

export class FaultStack {
  readonly logs: string[] = [];
  readonly services: ServiceInstance[] = [];
  #listeners = new Set<LineListener>();
  #stopping: Promise<void> | undefined;

  private constructor(
    readonly dir: string,
    readonly postgres: LocalPostgres,
    readonly redis: LocalRedis,
    readonly databaseUrl: string,
    readonly sim: Simulator,
    readonly seed: DemoSeed,
    readonly secrets: StackSecrets,
    /** File with the auditor's Ed25519 public key (SPKI PEM), for the verifier. */
    readonly publicKeyFile: string,
    readonly queuePrefix: string,
  ) {}

  static async start(label: string, options: FaultStackOptions = {}): Promise<FaultStack> {
    const dir = join(repoRoot, '.data', 'test', `${label}-${randomBytes(4).toString('hex')}`);
    await mkdir(dir, { recursive: true });
    // PostgreSQL runs as the unprivileged `postgres` user when we are root: it must reach its data dir.
    await chmod(dir, 0o755);
    const cleanups: Array<() => Promise<void>> = [];
    try {
      const postgres = new LocalPostgres({ dataDir: join(dir, 'pg'), persistent: true, port: await freePort() });
      const adminUrl = await postgres.start();
      cleanups.push(() => postgres.stop());
      const redis = new LocalRedis({ dataDir: join(dir, 'redis'), persistent: false });
      await redis.start();
      cleanups.push(() => redis.stop());
      const databaseUrl = await createDatabase(adminUrl, 'tenantgate');
      await migrateDatabase(databaseUrl);
      const sim = await startSimulator({ scenario: 'demo', seed: options.simulatorSeed ?? 1, activity: false });
      cleanups.push(() => sim.stop());
      const secrets = generateSecrets();
      const seed = await seedDemo({
        databaseUrl,
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
      const publicKeyFile = join(dir, 'audit-public-key.pem');
      await writeFile(
        publicKeyFile,
        createPublicKey(secrets.auditSigningKey).export({ format: 'pem', type: 'spki' }).toString(),
      );
      const stack = new FaultStack(
        dir,
        postgres,
        redis,
        databaseUrl,
        sim,
        seed,
        secrets,
        publicKeyFile,
        `flt${randomBytes(3).toString('hex')}`,
      );
      await stack.#startServices(options);
      return stack;
    } catch (err) {
      for (const c of cleanups.reverse()) await c().catch(() => undefined);
      await rm(dir, { recursive: true, force: true }).catch(() => undefined);
      throw err;
    }
  }

  async #startServices(options: FaultStackOptions): Promise<void> {
    const counts = { 'pve-sync': 1, auditor: 1, gateway: 1, ...options.instances };
    for (const name of ['pve-sync', 'auditor', 'gateway'] as const) {
      for (let i = 1; i <= counts[name]; i++) {
        const port = name === 'gateway' ? await freePort() : 0;
        const label = counts[name] > 1 ? `${name}#${i}` : name;
        const env = serviceEnv({
          databaseUrl: this.databaseUrl,
          redisUrl: this.redis.url,
          queuePrefix: this.queuePrefix,
          gatewayHost: '127.0.0.1',
          gatewayPort: port || 4000,
          secrets: this.secrets,
          logLevel: options.logLevels?.[name] ?? 'info',
          extraEnv: options.extraEnv ?? {},
        });
        const process = new ServiceProcess({ name, env, label, onLine: (l, line) => this.#onLine(l, line) });
        this.services.push({
          name,
          label,
          process,
          ...(name === 'gateway'
            ? { port, httpUrl: `http://127.0.0.1:${port}/graphql`, wsUrl: `ws://127.0.0.1:${port}/graphql` }
            : {}),
        });
      }
    }
    try {
      await Promise.all(this.services.map((s) => this.startService(s)));
    } catch (err) {
      await this.stop();
      throw new Error(`${String(err)}\n--- service logs ---\n${this.logs.slice(-60).join('\n')}`, { cause: err });
    }
  }

  #onLine(label: string, line: string): void {
    this.logs.push(`[${label}] ${line}`);
    for (const l of this.#listeners) l(label, line);
  }

  /** Every instance of a service. */
  all(name: ServiceName): ServiceInstance[] {
    return this.services.filter((s) => s.name === name);
  }

  one(name: ServiceName): ServiceInstance {
    const s = this.all(name)[0];
    if (!s) throw new Error(`no ${name} in this stack`);
    return s;
  }

  /** Starts (or restarts) a process and resolves when it is ready. */
  async startService(s: ServiceInstance, timeoutMs = 90_000): Promise<void> {
    const startedLine = s.name === 'gateway' ? undefined : `${s.name} started`;
    const ready = startedLine ? this.#waitForLine(s.label, startedLine, timeoutMs) : undefined;
    s.process.start();
    const exited = s.process.exited.then((code) => {
      throw new Error(`${s.label} exited with code ${code} before it was ready`);
    });
    try {
      if (ready) await Promise.race([ready.promise, exited]);
      else await Promise.race([waitForHttp(`http://127.0.0.1:${s.port}/readyz`, timeoutMs), exited]);
    } finally {
      ready?.cancel();
      exited.catch(() => undefined);
    }
  }

  /** kill -9 and start again; resolves when the new process is ready. */
  async killAndRestart(s: ServiceInstance, downMs = 0): Promise<void> {
    await s.process.kill();
    if (downMs > 0) await sleep(downMs);
    await this.startService(s);
  }

  #waitForLine(label: string, text: string, timeoutMs: number): { promise: Promise<void>; cancel: () => void } {
    let listener: LineListener | undefined;
    let timer: NodeJS.Timeout | undefined;
    const promise = new Promise<void>((resolve, reject) => {
      listener = (l, line) => {
        if (l === label && line.includes(text)) resolve();
      };
      this.#listeners.add(listener);
      timer = setTimeout(() => reject(new Error(`${label}: no '${text}' within ${timeoutMs} ms`)), timeoutMs);
    });
    const cancel = () => {
      if (listener) this.#listeners.delete(listener);
      clearTimeout(timer);
    };
    void promise.finally(cancel).catch(() => undefined);
    return { promise, cancel };
  }

  /** FLUSHALL on the stack's Redis (the servers keep running, every key is gone). */
  async flushRedis(): Promise<void> {
    const client = new Redis(this.redis.url, { maxRetriesPerRequest: 1 });
    client.on('error', () => {});
    try {
      await client.flushall();
    } finally {
      client.disconnect();
    }
  }

  /**
   * Drops every pub/sub connection (`CLIENT KILL TYPE pubsub`) `times` times, `everyMs` apart: a
   * network blip between the gateways and Redis. Their clients reconnect and re-subscribe by themselves.
   */
  async dropPubSubConnections(times: number, everyMs: number): Promise<number> {
    const client = new Redis(this.redis.url, { maxRetriesPerRequest: 1 });
    client.on('error', () => {});
    let killed = 0;
    try {
      for (let i = 0; i < times; i++) {
        killed += Number(await client.call('CLIENT', 'KILL', 'TYPE', 'pubsub'));
        await sleep(everyMs);
      }
    } finally {
      client.disconnect();
    }
    return killed;
  }

  /** Log lines of the processes, for failure messages. */
  tail(n = 80): string {
    return this.logs
      .slice(-n)
      .map((l) => (l.length > 300 ? `${l.slice(0, 300)}…` : l))
      .join('\n');
  }

  /** Errors and warnings logged by the services (pino level >= 40), and non-JSON output. */
  problems(): string[] {
    return this.logs.filter((l) => {
      const json = l.slice(l.indexOf(']') + 2);
      try {
        return ((JSON.parse(json) as { level?: number }).level ?? 30) >= 40;
      } catch {
        return true;
      }
    });
  }

  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      await Promise.allSettled(this.services.map((s) => s.process.stop()));
      await this.sim.stop();
      await this.redis.stop().catch(() => undefined);
      await this.postgres.stop().catch(() => undefined);
      await rm(this.dir, { recursive: true, force: true }).catch(() => undefined);
    })();
    return this.#stopping;
  }
}

async function createDatabase(adminUrl: string, name: string): Promise<string> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  return u.toString();
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
