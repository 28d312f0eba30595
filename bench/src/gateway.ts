// `npm run bench -- gateway`: a tenant user's `resources(first: 100)` with nested tasks and tenant,
// against 10 tenants × 1,500 guests, on a real PostgreSQL and Redis. Compares the gateway as built
// (graphql-shield on the root fields + tenant predicate in SQL) with the same schema without both,
// in the same run, and counts SQL statements per request for page sizes 10 and 100.
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { Worker } from 'node:worker_threads';
import { Redis } from 'ioredis';
import { createLogger, createOrm, sha256, type Orm } from '@tenantgate/shared';
import { createAuditWakeupQueue, createGatewayApp, type GatewayApp } from '@tenantgate/gateway';
import { report } from './report.ts';
import { round, startBenchStores } from './stores.ts';

const TENANTS = 10;
const GUESTS_PER_TENANT = 1500;
const TASKS_PER_GUEST = 3;
const DURATION_MS = Number(process.env.BENCH_GATEWAY_DURATION_MS ?? 5000);
const CONCURRENCY = Number(process.env.BENCH_GATEWAY_CONCURRENCY ?? 8);
const ROUNDS = Number(process.env.BENCH_GATEWAY_ROUNDS ?? 3);

const QUERY = `query Bench($first: Int!) {
  resources(first: $first) {
    edges { cursor node { id vmid name type node status pool tags cluster
      tasks { id upid type status outcome startedAt endedAt user }
      tenant { id slug name } } }
    pageInfo { hasNextPage endCursor }
  }
}`;

// The load generator runs on its own thread (own event loop) so it does not share the server's.
const LOAD_WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const { url, headers, body, durationMs, concurrency } = workerData;
(async () => {
  const latencies = [];
  let errors = 0;
  const end = Date.now() + durationMs;
  async function loop() {
    while (Date.now() < end) {
      const t0 = performance.now();
      const res = await fetch(url, { method: 'POST', headers, body });
      const json = await res.json();
      if (res.status !== 200 || json.errors || json.data.resources.edges.length === 0) errors++;
      latencies.push(performance.now() - t0);
    }
  }
  const started = performance.now();
  await Promise.all(Array.from({ length: concurrency }, loop));
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const p = (q) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))];
  parentPort.postMessage({ requests: latencies.length, errors, rps: latencies.length / elapsed, p50: p(0.5), p99: p(0.99) });
})();
`;

/** shielded: as built; noshield: without graphql-shield; bare: also without the tenant predicate. */
const VARIANTS = ['bare', 'noshield', 'shielded'] as const;
type Variant = (typeof VARIANTS)[number];

interface LoadResult {
  requests: number;
  errors: number;
  rps: number;
  p50: number;
  p99: number;
}

function load(url: string, headers: Record<string, string>, first: number, durationMs: number): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(LOAD_WORKER, {
      eval: true,
      execArgv: [],
      workerData: {
        url,
        headers,
        body: JSON.stringify({ query: QUERY, variables: { first } }),
        durationMs,
        concurrency: CONCURRENCY,
      },
    });
    worker.once('message', (m: LoadResult) => resolve(m));
    worker.once('error', reject);
  });
}

async function seed(orm: Orm): Promise<{ tenantId: string; token: string }> {
  const em = orm.em.fork();
  await em.execute(
    `INSERT INTO tenant (slug, name) SELECT 'tenant-' || i, 'Tenant ' || i FROM generate_series(1, ${TENANTS}) i`,
  );
  await em.execute(
    `INSERT INTO pve_connection (name, base_url, token_id, secret_enc)
     SELECT 'cluster-' || i, 'https://10.0.' || i || '.1:8006', 'sync@pve!tg', '\\x00'::bytea FROM generate_series(1, 2) i`,
  );
  // Each tenant owns one PVE pool on one of the two clusters; guests are created after the assignments
  // so the trigger stamps guest.tenant_id.
  await em.execute(
    `INSERT INTO assignment (tenant_id, connection_id, kind, pool)
     SELECT t.id, c.id, 'pool', t.slug FROM tenant t
       JOIN pve_connection c ON c.name = 'cluster-' || (1 + (substring(t.slug from 8)::int % 2))`,
  );
  await em.execute(
    `INSERT INTO guest (connection_id, vmid, type, node, name, status, pool, tags, raw, maxcpu, maxmem, uptime)
     SELECT a.connection_id, 100 + (substring(t.slug from 8)::int * 10000) + g,
            CASE WHEN g % 3 = 0 THEN 'lxc' ELSE 'qemu' END, 'node' || (g % 4 + 1),
            t.slug || '-vm-' || lpad(g::text, 5, '0'), CASE WHEN g % 5 = 0 THEN 'stopped' ELSE 'running' END,
            t.slug, ARRAY['env' || (g % 3)], '{}'::jsonb, 2, 4294967296, 3600
       FROM tenant t JOIN assignment a ON a.tenant_id = t.id, generate_series(1, ${GUESTS_PER_TENANT}) g`,
  );
  await em.execute(
    `INSERT INTO pve_task (upid, connection_id, node, type, task_id, vmid, pve_user, starttime, endtime, status, outcome)
     SELECT 'UPID:' || g.node || ':' || lpad(to_hex(g.vmid), 8, '0') || ':' || lpad(to_hex(k), 8, '0') || ':6560' || lpad(k::text, 4, '0') || ':qmstart:' || g.vmid || ':root@pam:',
            g.connection_id, g.node, 'qmstart', g.vmid::text, g.vmid, 'root@pam', now() - make_interval(mins => k * 10), now() - make_interval(mins => k * 10 - 1), 'OK', 'ok'
       FROM guest g, generate_series(1, ${TASKS_PER_GUEST}) k`,
  );
  await em.execute(`ANALYZE`);
  const [tenant] = await em.execute<Array<{ id: string }>>(`SELECT id FROM tenant WHERE slug = 'tenant-1'`);
  const [user] = await em.execute<Array<{ id: string }>>(
    `INSERT INTO portal_user (username) VALUES ('bench-user') RETURNING id`,
  );
  await em.execute(
    `INSERT INTO membership (user_id, tenant_id, role, privileges) VALUES (?, ?, 'tenant_user', '{VM.Audit}')`,
    [user!.id, tenant!.id],
  );
  const token = `tgs_${randomBytes(32).toString('base64url')}`;
  await em.execute(
    `INSERT INTO portal_session (user_id, token_hash, expires_at) VALUES (?, ?, now() + interval '1 day')`,
    [user!.id, sha256(token)],
  );
  return { tenantId: tenant!.id, token };
}

/** Counts the SQL statements MikroORM sends (its query logger) while `counting` is on. */
class StatementCounter {
  counting = false;
  count = 0;
  readonly logger = createLogger('bench-sql', 'trace');
  constructor() {
    this.logger.level = 'silent';
    // MikroORM calls `logger(msg)` per statement when debug is on; createOrm routes it to `.debug`.
    this.logger.debug = ((obj: unknown, msg?: string) => {
      const text = typeof msg === 'string' ? msg : String(obj);
      if (this.counting && text.includes('[query]')) this.count++;
    }) as never;
  }
}

export async function run(): Promise<void> {
  const stores = await startBenchStores('gateway');
  const stops: Array<() => Promise<void>> = [];
  try {
    const { databaseUrl, redisUrl } = stores;

    const counter = new StatementCounter();
    const orm = await createOrm({ databaseUrl, poolMax: 20, logger: counter.logger, debug: true });
    stops.push(() => orm.close(true));
    const seedStarted = performance.now();
    const { tenantId, token } = await seed(orm);
    const seedSeconds = (performance.now() - seedStarted) / 1000;

    const redis = new Redis(redisUrl, { maxRetriesPerRequest: 3 });
    const redisSubscriber = new Redis(redisUrl, { maxRetriesPerRequest: null });
    const queue = createAuditWakeupQueue(redis, 'bench');
    stops.push(async () => {
      await queue.close();
      await redis.quit();
      await redisSubscriber.quit();
    });
    const logger = createLogger('bench-gateway', 'silent');
    const options = {
      introspection: false,
      graphiql: false,
      sessionTtlS: 3600,
      credentialsKey: randomBytes(32),
      queuePrefix: 'bench',
      loginMaxFailures: 5,
      loginLockoutS: 900,
      loginIpLimit: 30,
      loginIpWindowS: 60,
      maxPageSize: 100,
      maxDepth: 10,
      maxCost: 5000,
      bodyLimit: '100kb',
    };
    const deps = { logger, orm, redis, redisSubscriber, wakeupQueue: queue };
    const apps: Record<Variant, GatewayApp> = {
      shielded: await createGatewayApp({ ...deps, options }),
      noshield: await createGatewayApp({ ...deps, options: { ...options, benchmarkBaseline: 'no-shield' } }),
      bare: await createGatewayApp({ ...deps, options: { ...options, benchmarkBaseline: 'bare' } }),
    };
    const urls: Record<string, string> = {};
    for (const [name, app] of Object.entries(apps)) {
      stops.push(() => app.stop());
      urls[name] = `http://127.0.0.1:${await app.listen(0, '127.0.0.1')}/graphql`;
    }
    const headers = { 'content-type': 'application/json', authorization: `Bearer ${token}`, 'x-tenant-id': tenantId };

    // SQL statements per request, page sizes 10 and 100 (shielded gateway).
    const sqlPerRequest = async (first: number): Promise<number> => {
      const n = 20;
      counter.count = 0;
      counter.counting = true;
      for (let i = 0; i < n; i++) {
        const res = await fetch(urls.shielded!, {
          method: 'POST',
          headers,
          body: JSON.stringify({ query: QUERY, variables: { first } }),
        });
        const json = (await res.json()) as { data?: { resources: { edges: unknown[] } }; errors?: unknown };
        if (json.errors || json.data?.resources.edges.length !== first)
          throw new Error(`bench query failed: ${JSON.stringify(json.errors)}`);
      }
      counter.counting = false;
      return counter.count / n;
    };
    const sql10 = await sqlPerRequest(10);
    const sql100 = await sqlPerRequest(100);

    // Throughput: warm up both, then alternate rounds (the machine is shared and noisy) and report
    // each variant's median round.
    for (const name of VARIANTS) await load(urls[name]!, headers, 100, 1500);
    const results: Record<Variant, LoadResult[]> = { shielded: [], noshield: [], bare: [] };
    for (let r = 0; r < ROUNDS; r++) {
      for (const name of r % 2 === 0 ? VARIANTS : [...VARIANTS].reverse()) {
        const res = await load(urls[name]!, headers, 100, DURATION_MS);
        if (res.errors > 0) throw new Error(`${name}: ${res.errors} failed requests`);
        results[name].push(res);
        process.stderr.write(
          `gateway bench ${name} round ${r + 1}: ${res.rps.toFixed(1)} req/s, p50 ${res.p50.toFixed(1)} ms, p99 ${res.p99.toFixed(1)} ms\n`,
        );
      }
    }
    const median = (values: number[]) => {
      const v = [...values].sort((a, b) => a - b);
      return v[Math.floor(v.length / 2)]!;
    };
    const summary = (list: LoadResult[]) => ({
      rps: median(list.map((r) => r.rps)),
      p99: median(list.map((r) => r.p99)),
    });
    const shielded = summary(results.shielded);
    const bare = summary(results.bare);
    const noshield = summary(results.noshield);
    report(
      'gateway',
      {
        rps_shielded: round(shielded.rps),
        rps_bare: round(bare.rps),
        rps_ratio: round(bare.rps / shielded.rps, 3),
        p99_shielded_ms: round(shielded.p99),
        p99_bare_ms: round(bare.p99),
        p99_ratio: round(shielded.p99 / bare.p99, 3),
        rps_noshield: round(noshield.rps),
        p99_noshield_ms: round(noshield.p99),
        p99_ratio_vs_noshield: round(shielded.p99 / noshield.p99, 3),
        sql_per_request_10: round(sql10, 2),
        sql_per_request_100: round(sql100, 2),
      },
      {
        setup: {
          tenants: TENANTS,
          guestsPerTenant: GUESTS_PER_TENANT,
          tasksPerGuest: TASKS_PER_GUEST,
          pageSize: 100,
          concurrency: CONCURRENCY,
          durationMs: DURATION_MS,
          rounds: ROUNDS,
          seedSeconds: round(seedSeconds, 1),
          // other work on the machine skews req/s; the ratios come from alternating rounds
          loadAverage1m: round(loadavg()[0] ?? 0, 2),
        },
        goals: { p99_ratio: '<= 1.10', sql_per_request: 'same small constant for 10 and 100' },
        notes:
          "bare has no tenant predicate, so its guest query sorts all tenants' guests; noshield keeps the predicate and isolates the cost of graphql-shield",
      },
    );
  } finally {
    for (const stop of stops.reverse()) {
      try {
        await stop();
      } catch (err) {
        process.stderr.write(`bench cleanup: ${String(err)}\n`);
      }
    }
    await stores.cleanup();
  }
}
