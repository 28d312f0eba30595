// `npm run bench -- subscriptions`: alert fan-out over graphql-ws. 2,000 subscribers of
// `alertStream` over 100 tenants (20 per tenant, half on each of two gateway processes), a real
// auditor process that turns inbox events into alerts and publishes them on Redis pub/sub, real
// PostgreSQL and Redis. The subscribers live in this process; the gateways and the auditor are
// child processes (as `npm start` runs them), so their RSS is their own.
//   delivery_*_ms   the auditor's publication (seen by a pub/sub observer in this process) → the
//                   notification received by a subscriber, over every (alert, subscriber of its
//                   tenant) pair of the measured phase
//   end_to_end_*_ms the failed-task event committed to the inbox → received by a subscriber
//   delivered/expected  every subscriber must hold every alert_event of its tenant (warm-up and
//                   measured phases), cross_tenant_deliveries must be 0; otherwise the bench fails
// Knobs (env): SUBS_BENCH_TENANTS (100), SUBS_BENCH_PER_TENANT (20), SUBS_BENCH_GATEWAYS (2),
// SUBS_BENCH_ALERTS_PER_TENANT (5), SUBS_BENCH_RATE (alerts per second, 10).
import { randomBytes, randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { Queue } from 'bullmq';
import { createClient, type Client } from 'graphql-ws';
import { Redis } from 'ioredis';
import pg from 'pg';
import WebSocket from 'ws';
import { seedStarterRules } from '@tenantgate/auditor';
import { jobId, QueueName, sha256, type AuditSourceEventInput } from '@tenantgate/shared';
import { freePort, generateSecrets, serviceEnv, ServiceProcess, waitForHttp } from '@tenantgate/stack';
import { report } from './report.ts';
import { insertInbox, percentile, round, startBenchStores } from './stores.ts';

const env = process.env;
const TENANTS = Number(env.SUBS_BENCH_TENANTS ?? 100);
const PER_TENANT = Number(env.SUBS_BENCH_PER_TENANT ?? 20);
const GATEWAYS = Number(env.SUBS_BENCH_GATEWAYS ?? 2);
const ALERTS_PER_TENANT = Number(env.SUBS_BENCH_ALERTS_PER_TENANT ?? 5);
const RATE = Number(env.SUBS_BENCH_RATE ?? 10);
/** Connections opened at once while the subscribers connect. */
const CONNECT_BATCH = 100;

const QUERY = 'subscription { alertStream { cursor alertId ruleCode state title } }';

interface Fixture {
  tenants: Array<{ id: string; connectionId: string; sessions: string[] }>;
}

/** Tenants, one PVE connection each (whole-connection assignment), a user + session per subscriber. */
async function seed(db: pg.Pool): Promise<Fixture> {
  const tenants: Fixture['tenants'] = [];
  for (let t = 0; t < TENANTS; t++) {
    const slug = `subs-${t}`;
    const tenant = await db.query<{ id: string }>(`INSERT INTO tenant (slug, name) VALUES ($1, $1) RETURNING id`, [
      slug,
    ]);
    const conn = await db.query<{ id: string }>(
      `INSERT INTO pve_connection (name, base_url, token_id, secret_enc) VALUES ($1, 'https://pve.bench:8006', 'sync@pve!b', '\\x00') RETURNING id`,
      [slug],
    );
    const tenantId = tenant.rows[0]!.id;
    await db.query(
      `INSERT INTO assignment (tenant_id, connection_id, kind, valid_from) VALUES ($1, $2, 'connection', '2020-01-01')`,
      [tenantId, conn.rows[0]!.id],
    );
    const sessions = Array.from({ length: PER_TENANT }, () => `tgs_${randomBytes(32).toString('base64url')}`);
    await db.query(
      `WITH u AS (
         INSERT INTO portal_user (username) SELECT $2 || '-user-' || i FROM generate_series(1, $3::int) i RETURNING id, username
       ), m AS (
         INSERT INTO membership (user_id, tenant_id, role, privileges) SELECT id, $1, 'tenant_user', '{VM.Audit}' FROM u
       )
       INSERT INTO portal_session (user_id, token_hash, expires_at)
       SELECT u.id, s.hash, now() + interval '1 day'
         FROM unnest($4::bytea[]) WITH ORDINALITY AS s(hash, i) JOIN u ON u.username = $2 || '-user-' || s.i`,
      [tenantId, slug, PER_TENANT, sessions.map((s) => sha256(s))],
    );
    tenants.push({ id: tenantId, connectionId: conn.rows[0]!.id, sessions });
  }
  await seedStarterRules(db);
  await db.query('ANALYZE');
  return { tenants };
}

/** One graphql-ws client with one `alertStream` subscription; records what it receives and when. */
class Subscriber {
  /** cursor → performance.now() at receipt */
  readonly received = new Map<string, number>();
  readonly titles = new Map<string, string>();
  duplicates = 0;
  readonly errors: string[] = [];
  #client: Client | undefined;

  constructor(
    readonly tenantId: string,
    readonly gateway: number,
  ) {}

  /** Resolves once the gateway acknowledged the connection; rejects if it refused it. */
  start(wsUrl: string, token: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#client = createClient({
        url: wsUrl,
        webSocketImpl: WebSocket,
        lazy: false,
        retryAttempts: 0,
        connectionParams: { authorization: `Bearer ${token}`, tenantId: this.tenantId },
        onNonLazyError: (e) => reject(new Error(`connection failed: ${describe(e)}`)),
        on: { connected: () => resolve() },
      });
      this.#client.subscribe<{ alertStream: { cursor: string; title: string } }>(
        { query: QUERY },
        {
          next: (v) => {
            const at = performance.now();
            const a = v.data?.alertStream;
            if (!a) {
              this.errors.push(JSON.stringify(v.errors ?? v));
              return;
            }
            if (this.received.has(a.cursor)) this.duplicates++;
            else {
              this.received.set(a.cursor, at);
              this.titles.set(a.cursor, a.title);
            }
          },
          error: (e) => this.errors.push(describe(e)),
          complete: () => this.errors.push('completed'),
        },
      );
    });
  }

  async stop(): Promise<void> {
    await this.#client?.dispose();
  }
}

function describe(e: unknown): string {
  if (e && typeof e === 'object' && 'code' in e) return `closed ${(e as { code: number }).code}`;
  return e instanceof Error ? e.message : JSON.stringify(e);
}

/** Resident set size of a process in MB (Linux /proc), or NaN when it is gone. */
async function rssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const kb = /VmRSS:\s+(\d+)/.exec(status)?.[1];
  return kb ? Number(kb) / 1024 : Number.NaN;
}

/** User + system CPU seconds a process has used (Linux /proc, 100 clock ticks per second). */
async function cpuSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

async function until(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function run(): Promise<void> {
  const stores = await startBenchStores('subscriptions');
  const logs: string[] = [];
  try {
    const { databaseUrl, redisUrl } = stores;
    const db = new pg.Pool({ connectionString: databaseUrl, max: 4 });
    db.on('error', () => {}); // connections terminated when the server stops at the end
    stores.defer(() => db.end());
    const fixture = await seed(db);

    // ── the services: one auditor, GATEWAYS gateways ──
    const queuePrefix = `subs${randomUUID().slice(0, 8)}`;
    const secrets = generateSecrets();
    const onLine = (service: string, line: string) => {
      logs.push(`[${service}] ${line}`);
      if (logs.length > 400) logs.splice(0, 100);
    };
    const base = {
      databaseUrl,
      redisUrl,
      queuePrefix,
      gatewayHost: '127.0.0.1',
      secrets,
      logLevel: 'warn',
    };
    const auditor = new ServiceProcess({
      name: 'auditor',
      env: serviceEnv({ ...base, gatewayPort: 0, extraEnv: { SWEEP_INTERVAL_MS: '1000' } }),
      onLine,
    });
    auditor.start();
    stores.defer(() => auditor.stop());
    const gateways: Array<{ proc: ServiceProcess; wsUrl: string }> = [];
    for (let g = 0; g < GATEWAYS; g++) {
      const port = await freePort();
      const proc = new ServiceProcess({
        name: 'gateway',
        label: `gateway#${g + 1}`,
        env: serviceEnv({ ...base, gatewayPort: port }),
        onLine,
      });
      proc.start();
      stores.defer(() => proc.stop());
      gateways.push({ proc, wsUrl: `ws://127.0.0.1:${port}/graphql` });
    }
    for (const g of gateways) await waitForHttp(g.wsUrl.replace(/^ws/, 'http').replace(/graphql$/, 'readyz'), 90_000);

    // Peak RSS of each gateway process over the whole run (connect, warm-up, measured phase).
    const peakRss = gateways.map(() => 0);
    const sampleRss = async () => {
      for (const [i, g] of gateways.entries()) {
        const mb = await rssMb(g.proc.pid!);
        if (mb > peakRss[i]!) peakRss[i] = mb;
      }
    };
    const rssTimer = setInterval(() => void sampleRss(), 500);
    stores.defer(async () => clearInterval(rssTimer));

    // ── the publication observer: when each notification left the auditor (pub/sub fan-out) ──
    const publishedAt = new Map<string, number>();
    const publishedTenant = new Map<string, string>();
    const observer = new Redis(redisUrl, { maxRetriesPerRequest: null });
    observer.on('error', () => {});
    stores.defer(() => observer.quit());
    observer.on('pmessage', (_pattern, _channel, message: string) => {
      const at = performance.now();
      const n = JSON.parse(message) as { cursor: string; tenantId: string };
      publishedAt.set(n.cursor, at);
      publishedTenant.set(n.cursor, n.tenantId);
    });
    await observer.psubscribe(`${queuePrefix}:alerts:*`);

    // ── the subscribers ──
    const subscribers: Subscriber[] = [];
    stores.defer(() => Promise.allSettled(subscribers.map((s) => s.stop())));
    const connectStarted = performance.now();
    const pending: Array<{ sub: Subscriber; wsUrl: string; token: string }> = [];
    for (const t of fixture.tenants) {
      t.sessions.forEach((token, j) => {
        const sub = new Subscriber(t.id, j % GATEWAYS);
        subscribers.push(sub);
        pending.push({ sub, wsUrl: gateways[j % GATEWAYS]!.wsUrl, token });
      });
    }
    for (let i = 0; i < pending.length; i += CONNECT_BATCH) {
      await Promise.all(pending.slice(i, i + CONNECT_BATCH).map((p) => p.sub.start(p.wsUrl, p.token)));
    }
    const connectSeconds = (performance.now() - connectStarted) / 1000;
    process.stderr.write(
      `subscriptions bench: ${subscribers.length} subscribers connected in ${connectSeconds.toFixed(1)} s\n`,
    );

    // ── alerts through the real path: a failed task on a fresh guest → TASK-002 fires ──
    const producer = new Redis(redisUrl, { maxRetriesPerRequest: null });
    producer.on('error', () => {});
    stores.defer(() => producer.quit());
    const wakeups = new Queue(QueueName.auditWakeup, { connection: producer, prefix: queuePrefix });
    wakeups.on('error', () => {});
    stores.defer(() => wakeups.close());
    let n = 0;
    const committedAt = new Map<number, number>(); // vmid → inbox commit time
    const failedTask = (connectionId: string, vmid: number): AuditSourceEventInput => {
      const at = new Date().toISOString();
      const hex = (++n).toString(16).toUpperCase().padStart(8, '0');
      return {
        eventId: randomUUID(),
        dedupKey: `subs-bench:${n}`,
        source: 'pve.task',
        connectionId,
        occurredAt: at,
        observedAt: at,
        category: 'task',
        action: 'task.qmstart',
        outcome: 'failure',
        actor: { type: 'pve-user', id: 'ops@pve', principal: 'ops@pve' },
        node: 'pve1',
        target: { type: 'qemu', id: String(vmid), name: null, path: null },
        guest: { vmid },
        upid: `UPID:pve1:${hex}:00000001:6923AAAA:qmstart:${vmid}:ops@pve:`,
        detection: 'reported',
        payload: { status: 'command failed: exit code 1' },
      };
    };
    const trigger = async (tenantIndexes: number[], vmidBase: number) => {
      const events = tenantIndexes.map((t) => failedTask(fixture.tenants[t]!.connectionId, vmidBase + t));
      await insertInbox(db, events);
      const at = performance.now();
      for (const t of tenantIndexes) committedAt.set(vmidBase + t, at);
      await wakeups.add(
        'wakeup',
        { reason: 'bench', connectionId: null, count: events.length },
        {
          jobId: jobId('subs', n),
          removeOnComplete: true,
        },
      );
    };
    const expectedOf = async () => {
      const { rows } = await db.query<{ id: string; tenant_id: string }>(
        'SELECT id::text AS id, tenant_id::text AS tenant_id FROM alert_event',
      );
      const byTenant = new Map<string, Set<string>>();
      for (const r of rows) {
        let set = byTenant.get(r.tenant_id);
        if (!set) byTenant.set(r.tenant_id, (set = new Set()));
        set.add(r.id);
      }
      return { rows, byTenant };
    };
    /** The inbox is drained and every subscriber holds every alert_event of its tenant. */
    const allDelivered = async (minPerTenant: number) => {
      const open = await db.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM audit_inbox WHERE processed_at IS NULL',
      );
      if (open.rows[0]!.n > 0) return false;
      const { byTenant } = await expectedOf();
      return fixture.tenants.every((t) => {
        const ids = byTenant.get(t.id);
        if (!ids || ids.size < minPerTenant) return false;
        return subscribers.every((s) => s.tenantId !== t.id || [...ids].every((id) => s.received.has(id)));
      });
    };

    // Warm-up (not measured): one alert per tenant; once every subscriber has it, every stream is live.
    await trigger(
      fixture.tenants.map((_, t) => t),
      1_000_000,
    );
    await until(() => allDelivered(1), 120_000, 'the warm-up alert at every subscriber');
    const warmCursors = new Set(publishedAt.keys());

    // Measured: ALERTS_PER_TENANT rounds over every tenant, RATE alerts per second, one at a time.
    // Work done meanwhile: the gateways' CPU time and PostgreSQL transactions (every process).
    const xacts = async () =>
      Number(
        (
          await db.query<{ n: string }>(
            'SELECT xact_commit + xact_rollback AS n FROM pg_stat_database WHERE datname = current_database()',
          )
        ).rows[0]!.n,
      );
    const cpuBefore = await Promise.all(gateways.map((g) => cpuSeconds(g.proc.pid!)));
    const xactsBefore = await xacts();
    const measuredStarted = performance.now();
    let sent = 0;
    for (let round = 0; round < ALERTS_PER_TENANT; round++) {
      for (let t = 0; t < TENANTS; t++) {
        await trigger([t], 2_000_000 + round * 10_000);
        sent++;
        const wait = measuredStarted + (sent * 1000) / RATE - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      }
    }
    const achievedRate = sent / ((performance.now() - measuredStarted) / 1000);
    await until(
      () => allDelivered(1 + ALERTS_PER_TENANT),
      120_000,
      'every alert at every subscriber of its tenant',
    ).catch((err: unknown) => process.stderr.write(`subscriptions bench: ${String(err)}\n`));
    await sampleRss();
    clearInterval(rssTimer);
    const gatewayCpu = (await Promise.all(gateways.map((g) => cpuSeconds(g.proc.pid!)))).map(
      (c, i) => c - cpuBefore[i]!,
    );
    const measuredSeconds = (performance.now() - measuredStarted) / 1000;
    await new Promise((r) => setTimeout(r, 1500)); // backends flush their statistics about once a second
    const pgXacts = (await xacts()) - xactsBefore;

    // ── results ──
    const { rows, byTenant } = await expectedOf();
    const tenantOfCursor = new Map(rows.map((r) => [r.id, r.tenant_id]));
    let expected = 0;
    let delivered = 0;
    let crossTenant = 0;
    let duplicates = 0;
    const delivery: number[] = [];
    const endToEnd: number[] = [];
    let unobserved = 0;
    const errors: string[] = [];
    for (const s of subscribers) {
      const own = byTenant.get(s.tenantId) ?? new Set<string>();
      expected += own.size;
      duplicates += s.duplicates;
      errors.push(...s.errors);
      for (const [cursor, at] of s.received) {
        if (tenantOfCursor.get(cursor) !== s.tenantId) {
          crossTenant++;
          continue;
        }
        delivered++;
        if (warmCursors.has(cursor)) continue;
        const published = publishedAt.get(cursor);
        if (published === undefined) unobserved++;
        else delivery.push(at - published);
        const vmid = Number(/guest (\d+)/.exec(s.titles.get(cursor) ?? '')?.[1]);
        const committed = committedAt.get(vmid);
        if (committed !== undefined) endToEnd.push(at - committed);
      }
    }
    delivery.sort((a, b) => a - b);
    endToEnd.sort((a, b) => a - b);
    const clientRss = process.memoryUsage.rss() / 1024 / 1024;
    const serviceErrors = logs.filter((l) => /"level":(50|60)/.test(l));
    report(
      'subscriptions',
      {
        delivery_p50_ms: round(percentile(delivery, 50)),
        delivery_p99_ms: round(percentile(delivery, 99)),
        delivery_max_ms: round(delivery.at(-1) ?? Number.NaN),
        end_to_end_p50_ms: round(percentile(endToEnd, 50)),
        end_to_end_p99_ms: round(percentile(endToEnd, 99)),
        subscribers: subscribers.length,
        delivered,
        expected,
        cross_tenant_deliveries: crossTenant,
        duplicates,
        gateway_rss_mb: round(Math.max(...peakRss)),
        gateway_cpu_ms_per_delivery: round(
          (gatewayCpu.reduce((a, b) => a + b, 0) * 1000) / Math.max(1, delivery.length),
          2,
        ),
        pg_xacts_per_delivery: round(pgXacts / Math.max(1, delivery.length), 2),
        connect_s: round(connectSeconds, 2),
      },
      {
        setup: {
          tenants: TENANTS,
          subscribers_per_tenant: PER_TENANT,
          gateways: GATEWAYS,
          alerts_per_tenant: ALERTS_PER_TENANT,
          target_rate: RATE,
          achieved_rate: round(achievedRate, 2),
        },
        measured_alerts: sent,
        measured_deliveries: delivery.length,
        deliveries_without_observed_publication: unobserved,
        gateway_peak_rss_mb: peakRss.map((v) => round(v)),
        // measured phase until the last delivery: CPU seconds per gateway, PostgreSQL transactions of
        // every process (gateways, auditor, this bench's progress checks)
        measured_seconds: round(measuredSeconds, 1),
        gateway_cpu_s: gatewayCpu.map((c) => round(c, 1)),
        pg_xacts: pgXacts,
        client_rss_mb: round(clientRss),
        alert_events: rows.length,
        published_notifications: publishedAt.size,
        misattributed_publications: [...publishedTenant].filter(([c, t]) => tenantOfCursor.get(c) !== t).length,
        subscriber_errors: errors.slice(0, 5),
        service_errors: serviceErrors.slice(0, 5),
        load_average: loadavg().map((l) => round(l, 2)),
      },
    );
    if (delivered !== expected || crossTenant !== 0 || delivery.length === 0)
      throw new Error(
        `fan-out incomplete: delivered ${delivered} of ${expected}, ${crossTenant} cross-tenant deliveries`,
      );
  } catch (err) {
    process.stderr.write(`--- last service log lines ---\n${logs.slice(-40).join('\n')}\n`);
    throw err;
  } finally {
    await stores.cleanup();
  }
}
