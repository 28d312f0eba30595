// `npm run bench -- sync`: pve-sync against the simulator's scale scenario (20 clusters, 500
// nodes, 15,000 guests, 100,000 tasks) on a real PostgreSQL and Redis started here.
//   initial_sync_s   first poll of every connection (full task history, inventory, cluster log,
//                    journals, access configuration), POLL_CONCURRENCY connections at a time
//   peak_rss_mb      peak resident set size of the pve-sync process: the poller runs in a child
//                    process of its own (the simulator in another), so neither the simulator nor
//                    the bench driver (embedded Postgres wrapper, pg client) is counted
//   poll_ms_N        one steady-state poll of every connection after N new tasks were added
//                    (spread over all nodes): the cost must follow N, not the 100,000 of history
// Knobs (env): SYNC_BENCH_CONCURRENCY (connections polled at once, default 2),
// SYNC_BENCH_MAX_OLD_SPACE_MB (V8 heap limit of the pve-sync process; default: Node's),
// SYNC_BENCH_NODE_ARGS (extra node flags of the pve-sync process, e.g. `--cpu-prof`),
// SYNC_BENCH_V8_DEFAULTS=1 (skip the `--optimize-for-size` setting pve-sync's main.ts applies).
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import pg from 'pg';
import { createLogger, createOrm, migrateDatabase, QueueName } from '@tenantgate/shared';
import { LocalPostgres, LocalRedis, dataDir } from '@tenantgate/stack';
import {
  AuditWakeup,
  ConnectionPoller,
  createConnection,
  defaultSourceSettings,
  pveClientFactory,
  type PollResult,
} from '@tenantgate/pve-sync';
import { report } from './report.ts';

const env = process.env;
const CONCURRENCY = Number(env.SYNC_BENCH_CONCURRENCY ?? 2);

interface SimClusterInfo {
  name: string;
  url: string;
  fingerprint: string;
  tokenId: string;
  secret: string;
  nodes: string[];
}

// ───────────── simulator child process ─────────────

async function simChild(): Promise<void> {
  const { startSimulator } = await import('@tenantgate/pve-sim');
  const sim = await startSimulator({ scenario: 'scale', seed: 1 });
  const nodes = sim.clusters.flatMap((c) => [...c.state.nodes.keys()].map((n) => ({ c, n })));
  let next = 0;
  serve(
    {
      async addTasks(m) {
        const count = Number(m.count);
        for (let i = 0; i < count; i++) {
          const { c, n } = nodes[next++ % nodes.length]!;
          c.addTask({ node: n, type: 'qmstart', id: String(100 + (i % 500)), user: 'root@pam', status: 'OK' });
        }
        return null;
      },
    },
    () => sim.stop(),
  );
  const info: SimClusterInfo[] = sim.clusters.map((c) => ({
    name: c.name,
    url: c.url,
    fingerprint: c.fingerprint,
    tokenId: c.syncToken.tokenId,
    secret: c.syncToken.secret,
    nodes: [...c.state.nodes.keys()],
  }));
  process.send?.({ id: 0, ok: true, data: info } satisfies Reply);
}

/** A child process of this file in another role, spoken to over IPC (request/reply by id). */
class Child<Req extends { cmd: string }> {
  #child: ChildProcess;
  #next = 1;
  #pending = new Map<number, (r: Reply) => void>();
  readonly ready: Promise<unknown>;

  constructor(role: string, execArgv: string[] = []) {
    this.#child = fork(fileURLToPath(import.meta.url), [role], {
      execArgv: [...execArgv, '--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.ready = new Promise((resolve, reject) => {
      this.#pending.set(0, (r) => (r.ok ? resolve(r.data) : reject(new Error(r.error))));
      this.#child.once('exit', (code) => reject(new Error(`${role} exited with ${code}`)));
    });
    this.#child.on('message', (r: Reply) => {
      this.#pending.get(r.id)?.(r);
      this.#pending.delete(r.id);
    });
  }

  async request<T = unknown>(req: Req): Promise<T> {
    const id = this.#next++;
    return await new Promise<T>((resolve, reject) => {
      this.#pending.set(id, (r) => (r.ok ? resolve(r.data as T) : reject(new Error(r.error))));
      this.#child.send({ ...req, id });
    });
  }

  async stop(): Promise<void> {
    if (this.#child.exitCode !== null) return;
    const exited = new Promise((r) => this.#child.once('exit', r));
    await this.request({ cmd: 'stop' } as Req).catch(() => this.#child.kill());
    await exited;
  }
}

type Reply = { id: number; ok: true; data?: unknown } | { id: number; ok: false; error: string };

/** Serves requests from the parent; `stop` ends the process after `onStop`. */
function serve(
  handlers: Record<string, (m: Record<string, unknown>) => Promise<unknown>>,
  onStop: () => Promise<void>,
): void {
  process.on('message', (m: { id: number; cmd: string } & Record<string, unknown>) => {
    const reply = (r: Reply): void => void process.send?.(r);
    if (m.cmd === 'stop') {
      void onStop().finally(() => {
        reply({ id: m.id, ok: true });
        process.exit(0);
      });
      return;
    }
    const h = handlers[m.cmd];
    if (!h) return reply({ id: m.id, ok: false, error: `unknown command ${m.cmd}` });
    h(m).then(
      (data) => reply({ id: m.id, ok: true, data }),
      (err: unknown) =>
        reply({ id: m.id, ok: false, error: err instanceof Error ? (err.stack ?? err.message) : String(err) }),
    );
  });
}

// ───────────── pve-sync child process (its RSS is what peak_rss_mb reports) ─────────────

interface PollSummary {
  ms: number;
  inserted: number;
  timings: Record<string, number>;
  peakRssMb: number;
  rssMb: number;
  /** Live heap after the poll (after a full GC when the process runs with --expose-gc). */
  heapLiveMb: number;
}

async function syncChild(): Promise<void> {
  // The V8 setting pve-sync's main.ts applies (services/pve-sync/src/memory.ts).
  if (env.SYNC_BENCH_V8_DEFAULTS !== '1') setFlagsFromString('--optimize-for-size');
  let peak = 0;
  setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 100).unref();
  const cleanups: Array<() => Promise<unknown>> = [];
  let poller: ConnectionPoller | undefined;
  const connections: string[] = [];
  serve(
    {
      async init(m) {
        const { dbUrl, redisUrl, clusters } = m as unknown as {
          dbUrl: string;
          redisUrl: string;
          clusters: SimClusterInfo[];
        };
        const logger = createLogger('pve-sync-bench', 'warn');
        const orm = await createOrm({ databaseUrl: dbUrl, poolMax: 10 });
        cleanups.unshift(() => orm.close(true));
        const redis = new Redis(redisUrl, { maxRetriesPerRequest: null });
        cleanups.unshift(() => redis.quit());
        const wakeups = new Queue(QueueName.auditWakeup, { connection: redis, prefix: 'benchsync' });
        cleanups.unshift(() => wakeups.close());
        const key = randomBytes(32);
        for (const c of clusters) {
          connections.push(
            await createConnection(orm.em.fork(), key, {
              name: c.name,
              baseUrl: c.url,
              fingerprint: c.fingerprint,
              tokenId: c.tokenId,
              secret: c.secret,
            }),
          );
        }
        const publisher = new AuditWakeup(wakeups, logger);
        poller = new ConnectionPoller({
          em: orm.em,
          credentialsKey: key,
          clientFactory: pveClientFactory({ timeoutMs: 60_000, retries: 0, concurrency: 8 }),
          settings: defaultSourceSettings,
          logger,
          wakeup: (c, s, n, k) => publisher.publish(c, s, n, k),
        });
        return { rssMb: process.memoryUsage.rss() / 1048576 };
      },
      async poll(): Promise<PollSummary> {
        if (!poller) throw new Error('not initialised');
        peak = process.memoryUsage.rss();
        const { ms, results } = await pollAll(poller, connections);
        const timings: Record<string, number> = {};
        for (const r of results) for (const [k, v] of Object.entries(r.timings)) timings[k] = (timings[k] ?? 0) + v;
        return {
          ms,
          inserted: results.reduce((n, r) => n + r.inserted, 0),
          timings,
          peakRssMb: Math.round(peak / 1048576),
          rssMb: Math.round(process.memoryUsage.rss() / 1048576),
          heapLiveMb: (() => {
            (globalThis as { gc?: () => void }).gc?.();
            return Math.round(process.memoryUsage().heapUsed / 1048576);
          })(),
        };
      },
    },
    async () => {
      for (const c of cleanups) await c().catch(() => undefined);
    },
  );
  process.send?.({ id: 0, ok: true } satisfies Reply);
}

// ───────────── the benchmark ─────────────

async function pollAll(
  poller: ConnectionPoller,
  connections: string[],
): Promise<{ ms: number; results: PollResult[] }> {
  const t0 = performance.now();
  const results: PollResult[] = [];
  let i = 0;
  await Promise.all(
    Array.from({ length: Math.min(CONCURRENCY, connections.length) }, async () => {
      while (i < connections.length) results.push(await poller.poll(connections[i++]!));
    }),
  );
  const failed = results.flatMap((r) => r.failures);
  if (failed.length > 0) throw new Error(`poll failures: ${JSON.stringify(failed.slice(0, 5))}`);
  return { ms: performance.now() - t0, results };
}

export async function run(): Promise<void> {
  const base = join(dataDir, 'bench');
  await mkdir(base, { recursive: true });
  const work = await mkdtemp(join(base, 'sync-'));
  await chmod(work, 0o755);
  const postgres = new LocalPostgres({ dataDir: join(work, 'pg'), persistent: false });
  const redisServer = new LocalRedis({ dataDir: join(work, 'redis'), persistent: false });
  const sim = new Child<{ cmd: 'addTasks' | 'stop'; count?: number }>('--sim-child');
  const cleanups: Array<() => Promise<unknown>> = [() => sim.stop()];
  try {
    const adminUrl = await postgres.start();
    cleanups.unshift(() => postgres.stop());
    const redisUrl = await redisServer.start();
    cleanups.unshift(() => redisServer.stop());
    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    await admin.query('CREATE DATABASE bench_sync');
    await admin.end();
    const dbUrl = postgres.url('bench_sync');
    await migrateDatabase(dbUrl);
    const clusters = (await sim.ready) as SimClusterInfo[];

    const syncer = new Child<{
      cmd: 'init' | 'poll' | 'stop';
      dbUrl?: string;
      redisUrl?: string;
      clusters?: SimClusterInfo[];
    }>('--sync-child', [
      ...(env.SYNC_BENCH_MAX_OLD_SPACE_MB ? [`--max-old-space-size=${env.SYNC_BENCH_MAX_OLD_SPACE_MB}`] : []),
      ...(env.SYNC_BENCH_NODE_ARGS ? env.SYNC_BENCH_NODE_ARGS.split(' ') : []),
    ]);
    cleanups.unshift(() => syncer.stop());
    await syncer.ready;
    const { rssMb: rssIdle } = await syncer.request<{ rssMb: number }>({ cmd: 'init', dbUrl, redisUrl, clusters });
    const initial = await syncer.request<PollSummary>({ cmd: 'poll' });

    const db = new pg.Client({ connectionString: dbUrl });
    await db.connect();
    const counts = (
      await db.query<Record<string, string>>(
        `SELECT (SELECT count(*) FROM pve_node) AS nodes, (SELECT count(*) FROM guest) AS guests,
                (SELECT count(*) FROM pve_task) AS tasks, (SELECT count(*) FROM audit_inbox) AS inbox`,
      )
    ).rows[0];
    await db.end();

    const warm = await syncer.request<PollSummary>({ cmd: 'poll' });
    const poll0 = await syncer.request<PollSummary>({ cmd: 'poll' });
    await sim.request({ cmd: 'addTasks', count: 100 });
    const poll100 = await syncer.request<PollSummary>({ cmd: 'poll' });
    await sim.request({ cmd: 'addTasks', count: 10_000 });
    const poll10000 = await syncer.request<PollSummary>({ cmd: 'poll' });
    const all = [initial, warm, poll0, poll100, poll10000];

    report(
      'sync',
      {
        initial_sync_s: Math.round(initial.ms) / 1000,
        peak_rss_mb: Math.max(...all.map((p) => p.peakRssMb)),
        poll_ms_0: Math.round(poll0.ms),
        poll_ms_100: Math.round(poll100.ms),
        poll_ms_10000: Math.round(poll10000.ms),
      },
      {
        connections: clusters.length,
        nodes: Number(counts?.nodes),
        guests: Number(counts?.guests),
        tasks: Number(counts?.tasks),
        inbox_rows_initial: initial.inserted,
        inbox_rows_total: Number(counts?.inbox),
        inbox_rows_poll_0: poll0.inserted,
        inbox_rows_poll_100: poll100.inserted,
        inbox_rows_poll_10000: poll10000.inserted,
        source_ms_initial: initial.timings,
        source_ms_poll_0: poll0.timings,
        source_ms_poll_10000: poll10000.timings,
        peak_rss_initial_mb: initial.peakRssMb,
        heap_live_mb: all.map((p) => p.heapLiveMb),
        rss_idle_mb: Math.round(rssIdle),
        poll_concurrency: CONCURRENCY,
        goals: { initial_sync_s: 30, peak_rss_mb: 300 },
      },
    );
  } finally {
    for (const c of cleanups) await c().catch(() => undefined);
    await rm(work, { recursive: true, force: true });
  }
}

if (process.argv.includes('--sim-child')) await simChild();
if (process.argv.includes('--sync-child')) await syncChild();
