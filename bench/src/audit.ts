// `npm run bench -- audit`: the audit pipeline on a real PostgreSQL and Redis (started here).
//   events_per_s          inbox → committed chained rows (alert rules active), draining a backlog
//   alert_latency_*_ms    event committed to the inbox (+ wake-up job) → AlertNotification received
//                         on the tenant's pub/sub channel, with producers at a steady 500 events/s
// Knobs (env): AUDIT_BENCH_EVENTS (backlog size, default 50000), AUDIT_BENCH_BATCH (default 2000,
// the service's BATCH_SIZE default),
// AUDIT_BENCH_SECONDS (latency phase, default 20), AUDIT_BENCH_RATE (default 500),
// AUDIT_BENCH_PARALLELISM (batches in flight, default 2 = DRAIN_PARALLELISM). The load average is
// reported with the result: the machines are shared, compare runs side by side.
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { loadavg } from 'node:os';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import pg from 'pg';
import { keyIdOf, type SigningKey } from '@tenantgate/audit-core';
import { AuditorService, seedStarterRules, verifyChains } from '@tenantgate/auditor';
import { alertChannel, createLogger, jobId, QueueName, type AuditSourceEventInput } from '@tenantgate/shared';
import { report } from './report.ts';
import { insertInbox, percentile, startBenchStores } from './stores.ts';

const env = process.env;
const BACKLOG = Number(env.AUDIT_BENCH_EVENTS ?? 50_000);
const BATCH = Number(env.AUDIT_BENCH_BATCH ?? 2000);
const SECONDS = Number(env.AUDIT_BENCH_SECONDS ?? 20);
const RATE = Number(env.AUDIT_BENCH_RATE ?? 500);
const PARALLEL = Number(env.AUDIT_BENCH_PARALLELISM ?? 2);
const TENANTS = 20;

export async function run(): Promise<void> {
  const stores = await startBenchStores('audit');
  const cleanups: Array<() => Promise<unknown>> = [];
  try {
    const { databaseUrl: dbUrl, redisUrl } = stores;
    const db = new pg.Pool({ connectionString: dbUrl, max: 10 });
    db.on('error', () => {}); // connections terminated when the server stops at the end
    cleanups.unshift(() => db.end());
    const redis = new Redis(redisUrl, { maxRetriesPerRequest: null });
    const bull = new Redis(redisUrl, { maxRetriesPerRequest: null });
    const producerRedis = new Redis(redisUrl, { maxRetriesPerRequest: null });
    const sub = new Redis(redisUrl);
    cleanups.unshift(
      () => redis.quit(),
      () => bull.quit(),
      () => producerRedis.quit(),
      () => sub.quit(),
    );

    // fixture: TENANTS tenants, each owning one connection (whole-connection assignment)
    const connections: string[] = [];
    const tenants: string[] = [];
    for (let t = 0; t < TENANTS; t++) {
      const tenant = await db.query<{ id: string }>(`INSERT INTO tenant (slug, name) VALUES ($1, $1) RETURNING id`, [
        `bench-${t}`,
      ]);
      const conn = await db.query<{ id: string }>(
        `INSERT INTO pve_connection (name, base_url, token_id, secret_enc) VALUES ($1, 'https://pve.bench:8006', 'sync@pve!b', '\\x00') RETURNING id`,
        [`bench-${t}`],
      );
      await db.query(
        `INSERT INTO assignment (tenant_id, connection_id, kind, valid_from) VALUES ($1, $2, 'connection', '2020-01-01')`,
        [tenant.rows[0]!.id, conn.rows[0]!.id],
      );
      tenants.push(tenant.rows[0]!.id);
      connections.push(conn.rows[0]!.id);
    }

    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const signingKey: SigningKey = { keyId: keyIdOf(publicKey), privateKey, publicKey };
    const prefix = `bench${randomUUID().slice(0, 8)}`;
    const auditor = new AuditorService({
      db,
      redis,
      bullConnection: bull,
      signingKey,
      logger: createLogger('auditor-bench', 'warn'),
      options: {
        queuePrefix: prefix,
        batchSize: BATCH,
        checkpointEveryRecords: 1000,
        checkpointIntervalMs: 60_000,
        sweepIntervalMs: 1_000,
        monitorIntervalMs: 60_000,
        workerConcurrency: 1,
        drainParallelism: PARALLEL,
      },
    });
    cleanups.unshift(() => auditor.stop());

    let seq = 0;
    const t0 = Date.now();
    /** A realistic mix: task events (2% failures), journal auth failures, cluster-log logins. */
    const mixed = (i: number): AuditSourceEventInput => {
      const conn = connections[i % TENANTS]!;
      const at = new Date(t0 + i).toISOString();
      const kind = i % 10;
      const vmid = 100 + (i % 200);
      if (kind < 7) {
        const failed = i % 50 === 0;
        return {
          eventId: randomUUID(),
          dedupKey: `bench:${++seq}`,
          source: 'pve.task',
          connectionId: conn,
          occurredAt: at,
          observedAt: at,
          category: 'task',
          action: ['task.qmstart', 'task.qmstop', 'task.vzdump', 'task.qmsnapshot'][i % 4]!,
          outcome: failed ? 'failure' : 'success',
          actor: { type: 'pve-user', id: 'ops@pve', principal: 'ops@pve!automation' },
          node: `pve${i % 4}`,
          target: { type: 'qemu', id: String(vmid), name: `vm-${vmid}`, path: `/vms/${vmid}` },
          guest: { vmid },
          upid: `UPID:pve${i % 4}:0000${(i % 9999).toString(16).padStart(4, '0')}:00000001:6923AAAA:qmstart:${vmid}:ops@pve:`,
          detection: 'reported',
          payload: { status: failed ? 'command failed: exit code 1' : 'OK', starttime: 1763900000 + i },
        };
      }
      return {
        eventId: randomUUID(),
        dedupKey: `bench:${++seq}`,
        source: kind < 9 ? 'pve.journal' : 'pve.cluster-log',
        connectionId: conn,
        occurredAt: at,
        observedAt: at,
        category: 'auth',
        action: kind < 9 ? 'auth.login_failed' : 'auth.login',
        outcome: kind < 9 ? 'failure' : 'success',
        actor: { type: 'pve-user', id: `user${i % 37}@pve`, principal: null },
        srcIp: `10.${i % 7}.${i % 13}.${i % 251}`,
        node: `pve${i % 4}`,
        detection: 'reported',
        payload: { msg: 'invalid credentials' },
      };
    };

    // ── phase 1: backlog drain throughput ──
    const backlog = Array.from({ length: BACKLOG }, (_, i) => mixed(i));
    await insertInbox(db, backlog);
    await db.query('ANALYZE');
    await seedStarterRules(db);
    if (env.AUDIT_BENCH_NO_RULES === '1') await db.query(`UPDATE alert_rule SET enabled = false`);
    const phases: Record<string, number> = {};
    const started = performance.now();
    await Promise.all(
      Array.from({ length: PARALLEL }, async () => {
        for (;;) {
          const res = await auditor.processor.processBatch();
          for (const [k, v] of Object.entries(res.timings)) phases[k] = (phases[k] ?? 0) + v;
          if (res.claimed === 0) break;
        }
      }),
    );
    const drained = (performance.now() - started) / 1000;
    await auditor.start(); // wake-up worker, sweeper, tickers for the latency phase
    const committed = await db.query<{ n: string }>(`SELECT count(*) AS n FROM audit_record`);
    const eventsPerS = BACKLOG / drained;
    process.stderr.write(
      `audit bench: drained ${BACKLOG} events into ${committed.rows[0]!.n} records in ${drained.toFixed(2)} s; ms per phase: ${JSON.stringify(Object.fromEntries(Object.entries(phases).map(([k, v]) => [k, Math.round(v)])))}\n`,
    );

    // ── phase 2: alert latency at a steady rate ──
    const sent = new Map<number, number>(); // vmid → time the event was committed to the inbox
    const latencies: number[] = [];
    await sub.subscribe(...tenants.map((t) => alertChannel(prefix, t)));
    sub.on('message', (_ch, msg) => {
      const n = JSON.parse(msg) as { ruleCode: string; state: string; title: string };
      if (n.ruleCode !== 'TASK-002' || n.state !== 'firing') return;
      const vmid = Number(/guest (\d+)/.exec(n.title)?.[1]);
      const at = sent.get(vmid);
      if (at !== undefined) {
        latencies.push(performance.now() - at);
        sent.delete(vmid);
      }
    });
    const queue = new Queue(QueueName.auditWakeup, { connection: producerRedis, prefix });
    cleanups.unshift(() => queue.close());
    const tickMs = 20;
    const perTick = Math.max(1, Math.round((RATE * tickMs) / 1000));
    const ticks = Math.round((SECONDS * 1000) / tickMs);
    let alertVmid = 100_000;
    let produced = 0;
    const phaseStart = performance.now();
    for (let tick = 0; tick < ticks; tick++) {
      const events: AuditSourceEventInput[] = [];
      const probes: number[] = [];
      for (let k = 0; k < perTick; k++) {
        const i = BACKLOG + produced++;
        if (produced % 50 === 0) {
          // a failed task on a fresh guest: opens a new TASK-002 alert
          const vmid = ++alertVmid;
          probes.push(vmid);
          const e = mixed(i);
          events.push({
            ...e,
            category: 'task',
            action: 'task.qmstart',
            outcome: 'failure',
            guest: { vmid },
            target: { type: 'qemu', id: String(vmid), name: null, path: null },
          });
        } else events.push(mixed(i));
      }
      await insertInbox(db, events);
      const at = performance.now();
      for (const v of probes) sent.set(v, at);
      await queue.add(
        'wakeup',
        { reason: 'bench', connectionId: null, count: events.length },
        { jobId: jobId('bench', tick), removeOnComplete: true },
      );
      const next = phaseStart + (tick + 1) * tickMs;
      const wait = next - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
    const achievedRate = produced / ((performance.now() - phaseStart) / 1000);
    for (let i = 0; i < 200 && sent.size > 0; i++) await new Promise((r) => setTimeout(r, 25));
    latencies.sort((a, b) => a - b);

    const reports = await verifyChains(db, { publicKeys: [publicKey] });
    const verified = reports.every((r) => r.ok);
    report(
      'audit',
      {
        events_per_s: Math.round(eventsPerS),
        alert_latency_p50_ms: Number(percentile(latencies, 50).toFixed(1)),
        alert_latency_p99_ms: Number(percentile(latencies, 99).toFixed(1)),
      },
      {
        backlog_events: BACKLOG,
        batch_size: BATCH,
        drain_parallelism: PARALLEL,
        tenants: TENANTS,
        latency_phase: {
          seconds: SECONDS,
          target_rate: RATE,
          achieved_rate: Math.round(achievedRate),
          alerts_measured: latencies.length,
          alerts_missing: sent.size,
        },
        chains_verified: verified,
        load_average: loadavg().map((l) => Number(l.toFixed(2))),
        goal_events_per_s: 5000,
      },
    );
  } finally {
    for (const c of cleanups) await c().catch(() => undefined);
    await stores.cleanup();
  }
}
