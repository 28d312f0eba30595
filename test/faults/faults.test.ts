// Issue 8, point 1: proof under faults. Under scripted PVE activity the test kills each service
// with SIGKILL, flushes Redis, restarts Redis, and stops Postgres with `-m immediate`; after each
// fault it waits until a probe event has gone all the way through (pve-sync → inbox → auditor →
// chain → alert → subscriber) and records how long that took. Afterwards: every source event the
// simulator produced is in the audit trail exactly once and in the right chain, every chain
// verifies with the operator CLI, and every subscriber — reconnecting with its last cursor after
// each gateway kill — has every alert transition of its tenant and nothing of another tenant.
//
// `npm test` runs one round of every fault; `npm run e2e:faults` (TENANTGATE_FAULTS_LONG=1) runs
// several rounds in a shuffled order with more activity.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { eventually } from '../src/harness.ts';
import { GqlSession } from '../src/graphql-client.ts';
import { FaultStack, sleep } from './support/fault-stack.ts';
import { AlertSubscriber } from './support/alert-subscriber.ts';
import { ScriptedActivity } from './support/activity.ts';
import {
  auditTrailProblems,
  expectedTaskEvents,
  pendingKeys,
  runVerifier,
  type TrailContext,
} from './support/audit-checks.ts';

const LONG = process.env.TENANTGATE_FAULTS_LONG === '1';
const ROUNDS = LONG ? 3 : 1;
const TENANTS = ['acme', 'globex'] as const;

interface Fault {
  name: string;
  inject: (stack: FaultStack) => Promise<void>;
}

const BOUNDED_FAULTS: Fault[] = [
  { name: 'kill -9 pve-sync', inject: (s) => s.killAndRestart(s.one('pve-sync')) },
  { name: 'kill -9 auditor', inject: (s) => s.killAndRestart(s.one('auditor')) },
  { name: 'kill -9 gateway', inject: (s) => s.killAndRestart(s.one('gateway'), 1000) },
  { name: 'Redis FLUSHALL', inject: (s) => s.flushRedis() },
  {
    name: 'Redis restart (empty)',
    inject: async (s) => {
      await s.redis.stop();
      await sleep(2000);
      await s.redis.start();
    },
  },
  {
    name: 'Postgres stop -m immediate',
    inject: async (s) => {
      await s.postgres.stopImmediate();
      await sleep(3000);
      await s.postgres.restart();
    },
  },
];

/**
 * Long form only: a flapping network between the gateway and Redis (its pub/sub connection dropped
 * 40 times, 100 ms apart) while alerts are being published. It fails while the gateway's alert feed
 * does not replay from Postgres after its Redis subscription reconnects (see the report of issue 8).
 */
const PUBSUB_FLAP: Fault = {
  name: 'Redis pub/sub connections dropped',
  inject: async (s) => void (await s.dropPubSubConnections(40, 100)),
};

const FAULTS = LONG ? [...BOUNDED_FAULTS, PUBSUB_FLAP] : BOUNDED_FAULTS;

describe('end to end under faults', () => {
  let stack: FaultStack;
  let db: pg.Pool;
  let ctx: TrailContext;
  let activity: ScriptedActivity;
  const subscribers = new Map<string, AlertSubscriber>();
  const tenantIds = new Map<string, string>();
  const timings: Array<{ fault: string; round: number; injectMs: number; chainedMs: number; deliveredMs: number }> = [];
  // Alert transitions a connected subscriber never received, by the fault after which they went missing.
  const lost: Array<{ after: string; tenant: string; cursors: string[] }> = [];
  // Probe guests: one acme guest per cluster, left alone by the activity script.
  const probes = new Map<string, number>();

  beforeAll(async () => {
    stack = await FaultStack.start('faults', {
      pollIntervalMs: 1000,
      extraEnv: {
        // pve-sync re-creates flushed job schedulers; the auditor sweeps the inbox and signs checkpoints often.
        RECONCILE_INTERVAL_MS: '2000',
        SWEEP_INTERVAL_MS: '1000',
        CHECKPOINT_EVERY_RECORDS: '200',
        CHECKPOINT_INTERVAL_MS: '5000',
        MONITOR_INTERVAL_MS: '5000',
      },
    });
    db = new pg.Pool({ connectionString: stack.databaseUrl, max: 4 });
    db.on('error', () => {}); // idle clients die with Postgres; queries reconnect
    ctx = {
      db,
      sim: stack.sim,
      connections: new Map(stack.seed.connections.map((c) => [c.name, c.id])),
      tenantOfPool: new Map(stack.seed.tenants.map((t) => [t.slug, t.id])),
    };
    for (const t of stack.seed.tenants) tenantIds.set(t.slug, t.id);
    for (const c of stack.sim.clusters) {
      const g = [...c.state.guests.values()].find(
        (x) => !x.template && c.state.access.poolOfVm(x.vmid)?.poolid === 'acme',
      )!;
      probes.set(c.name, g.vmid);
    }
    activity = new ScriptedActivity(stack.sim, {
      seed: 8,
      intervalMs: LONG ? 80 : 200,
      tenantPools: [...TENANTS],
      reserved: new Map([...probes].map(([c, vmid]) => [c, new Set([vmid])])),
    });
  }, 180_000);

  afterAll(async () => {
    activity?.stop();
    await Promise.allSettled([...subscribers.values()].map((s) => s.stop()));
    await db?.end().catch(() => undefined);
    await stack?.stop();
  });

  /** What Postgres knows about pending task events (for failure messages). */
  async function explainPending(pending: string[]): Promise<string> {
    const lines: string[] = [];
    for (const key of pending.slice(0, 6)) {
      const upid = key.slice(key.indexOf('|') + 1).replace(/:(started|finished)$/, '');
      const task = await db.query(
        'SELECT outcome, status, first_seen_at, updated_at, starttime, endtime FROM pve_task WHERE upid = $1',
        [upid],
      );
      const inbox = await db.query(
        `SELECT dedup_key, observed_at, processed_at FROM audit_inbox WHERE dedup_key LIKE '%' || $1 || '%'`,
        [upid],
      );
      lines.push(`${key}\n  task ${JSON.stringify(task.rows)}\n  inbox ${JSON.stringify(inbox.rows)}`);
    }
    const cursors = await db.query(
      `SELECT source, cursor, last_attempt_at, last_success_at, last_error FROM sync_cursor WHERE source LIKE 'tasks:%' ORDER BY source`,
    );
    lines.push(`task cursors ${JSON.stringify(cursors.rows)}`);
    lines.push(`timings ${JSON.stringify(timings)}`);
    return lines.join('\n');
  }

  /** Everything of `tenant`'s alert_event rows the subscriber has not received. */
  async function undelivered(tenant: string): Promise<string[]> {
    const { rows } = await db.query<{ id: string }>(
      'SELECT id::text AS id FROM alert_event WHERE tenant_id = $1 ORDER BY id',
      [tenantIds.get(tenant)],
    );
    return subscribers.get(tenant)!.missing(rows.map((r) => r.id));
  }

  /**
   * A failed task on the probe guest: resolves when its `finished` event is in acme's chain and when
   * every acme subscriber has every acme alert transition so far. Returns both latencies.
   */
  async function probe(label: string): Promise<{ chainedMs: number; deliveredMs: number }> {
    const started = Date.now();
    const alpha = stack.sim.cluster('alpha');
    const upid = alpha.addTask({
      node: alpha.state.guest(probes.get('alpha')!).node,
      type: 'qmstart',
      id: String(probes.get('alpha')),
      user: 'root@pam',
      status: `start failed: probe after ${label}`,
    });
    const key = `${ctx.connections.get('alpha')}|${upid}:finished`;
    const crashed = () => stack.services.filter((s) => !s.process.running).map((s) => s.label);
    await eventually(
      async () => {
        const down = crashed();
        if (down.length > 0) throw new Error(`service(s) exited by themselves: ${down.join(', ')}`);
        const { rows } = await db.query('SELECT chain_id FROM audit_record WHERE dedup_key = $1', [key]);
        return rows.length > 0 ? true : undefined;
      },
      120_000,
      `the probe after '${label}' in the audit trail`,
    ).catch((err: unknown) => {
      throw new Error(`${String(err)}\n--- logs ---\n${stack.tail(60)}`, { cause: err });
    });
    const chainedMs = Date.now() - started;
    // Alerts already known lost (after an earlier fault) are not waited for again.
    const newlyMissing = async () => {
      const out: Record<string, string[]> = {};
      for (const t of TENANTS) {
        const m = (await undelivered(t)).filter((c) => !lost.some((l) => l.tenant === t && l.cursors.includes(c)));
        if (m.length > 0) out[t] = m;
      }
      return out;
    };
    const delivered = await eventually(
      async () => (Object.keys(await newlyMissing()).length === 0 ? true : undefined),
      20_000,
      `every alert delivered to the subscribers after '${label}'`,
    ).catch(() => false);
    if (!delivered) {
      // Recorded, asserted at the end: the run goes on so that every fault is exercised.
      for (const [tenant, cursors] of Object.entries(await newlyMissing()))
        lost.push({ after: label, tenant, cursors });
    }
    return { chainedMs, deliveredMs: delivered ? Date.now() - started : -1 };
  }

  it(
    'keeps every source event exactly once, every chain valid and every alert delivered',
    async () => {
      // The first sync of both clusters is chained before the faults begin.
      await eventually(
        async () => {
          const { rows } = await db.query<{ n: number; open: number }>(
            `SELECT (SELECT count(*)::int FROM audit_record) AS n,
                    (SELECT count(*)::int FROM audit_inbox WHERE processed_at IS NULL) AS open`,
          );
          return rows[0]!.n > 0 && rows[0]!.open === 0 ? true : undefined;
        },
        90_000,
        'the initial sync to be chained',
      );

      // Subscribers of two tenants, replaying from the start, then live.
      const gatewayWs = stack.one('gateway').wsUrl!;
      for (const slug of TENANTS) {
        const login = stack.seed.logins.find((l) => l.username === `${slug}-user`)!;
        const session = new GqlSession(stack.one('gateway').httpUrl!);
        await session.login(login.username, login.password, login.tenant!.id);
        const sub = new AlertSubscriber(slug, [gatewayWs], { token: session.token!, tenantId: login.tenant!.id });
        sub.start();
        subscribers.set(slug, sub);
      }
      await probe('start');

      activity.start();
      const t0 = Date.now();
      for (let round = 1; round <= ROUNDS; round++) {
        const order = round === 1 ? FAULTS : shuffle(FAULTS, round);
        for (const fault of order) {
          await sleep(LONG ? 4000 : 1500); // activity between faults
          const started = Date.now();
          await fault.inject(stack);
          const injectMs = Date.now() - started;
          const p = await probe(`${fault.name} (round ${round})`);
          timings.push({ fault: fault.name, round, injectMs, ...p });
          console.info(`${new Date().toISOString()} ${fault.name} (round ${round}): ${JSON.stringify(p)}`);
        }
      }
      activity.stop();
      const finished = activity.finishAll();
      const faultPhaseMs = Date.now() - t0;

      // Convergence: every task event the simulator produced reaches the inbox and is processed.
      const expected = expectedTaskEvents(ctx, activity.record.moved);
      const required = expected.filter((e) => !e.optional).map((e) => e.key);
      await eventually(
        async () => ((await pendingKeys(db, required)).length === 0 ? true : undefined),
        120_000,
        'every simulator task event in the inbox and processed',
      ).catch(async (err: unknown) => {
        const pending = await pendingKeys(db, required);
        throw new Error(`${String(err)}: ${pending.length} pending\n${await explainPending(pending)}`, {
          cause: err,
        });
      });
      await eventually(
        async () => {
          const { rows } = await db.query<{ n: number }>(
            'SELECT count(*)::int AS n FROM audit_inbox WHERE processed_at IS NULL',
          );
          return rows[0]!.n === 0 ? true : undefined;
        },
        60_000,
        'an empty inbox',
      );
      // Failed logins and tokens come from the journal and the access diff on the next polls.
      await eventually(
        async () => ((await auditTrailProblems(ctx, expected, activity.record)).length === 0 ? true : undefined),
        30_000,
        'the audit trail checks',
      ).catch(() => undefined);

      await eventually(
        async () => {
          for (const t of TENANTS) if ((await undelivered(t)).length > 0) return undefined;
          return true;
        },
        lost.length > 0 ? 5_000 : 30_000,
        'every alert transition delivered',
      ).catch(() => undefined);
      const summary = {
        rounds: ROUNDS,
        faultPhaseMs,
        activitySteps: activity.record.steps,
        tasksFinishedAtEnd: finished,
        expectedTaskEvents: required.length,
        startedEventsSeen: Number(
          (await db.query(`SELECT count(*) AS n FROM audit_inbox WHERE dedup_key LIKE '%:started'`)).rows[0].n,
        ),
        authFailures: activity.record.authFailures.length,
        tokens: activity.record.tokens.length,
        records: Number((await db.query('SELECT count(*) AS n FROM audit_record')).rows[0].n),
        alertEvents: Number((await db.query('SELECT count(*) AS n FROM alert_event')).rows[0].n),
        subscribers: Object.fromEntries(
          [...subscribers].map(([t, s]) => [
            t,
            { received: s.received.size, duplicates: s.duplicates, connections: s.connections, attempts: s.reconnects },
          ]),
        ),
        serviceWarnings: summarizeProblems(stack.problems()),
        timings,
        lost,
      };
      console.info(`fault test summary ${JSON.stringify(summary, null, 1)}`);

      const problems = await auditTrailProblems(ctx, expected, activity.record);
      expect(problems).toEqual([]);
      expect(required.length).toBeGreaterThan(500);
      expect(activity.record.authFailures.length).toBeGreaterThan(0);
      expect(activity.record.tokens.length).toBeGreaterThan(0);

      // Every chain verifies with the operator CLI (hashes, gapless seq, signed checkpoints).
      const verified = await runVerifier(stack.databaseUrl, stack.publicKeyFile);
      expect(verified.output.slice(0, 2000)).not.toMatch(/FAILED|"ok": false/);
      expect(verified.code).toBe(0);
      const { rows: chains } = await db.query<{ chain_id: string }>('SELECT chain_id FROM audit_chain');
      expect(verified.reports.map((r) => r.chainId).sort()).toEqual(chains.map((c) => c.chain_id).sort());
      expect(verified.reports.every((r) => r.ok && r.recordsChecked > 0)).toBe(true);
      expect(verified.reports.some((r) => r.checkpointsChecked > 0)).toBe(true);

      // Every subscriber has every alert transition of its tenant, and only its tenant's.
      expect(lost).toEqual([]);
      for (const t of TENANTS) {
        const sub = subscribers.get(t)!;
        expect({ tenant: t, missing: await undelivered(t) }).toEqual({ tenant: t, missing: [] });
        const alertIds = [...new Set([...sub.received.values()].map((a) => a.alertId))];
        const { rows: owners } = await db.query<{ tenant_id: string | null }>(
          'SELECT DISTINCT tenant_id FROM alert WHERE id = ANY($1::uuid[])',
          [alertIds],
        );
        expect(owners.map((o) => o.tenant_id)).toEqual([tenantIds.get(t)]);
        // On failure, say why: the gateway's own log of the streams it ended (with times).
        const streamErrors = stack
          .problems()
          .filter((l) => l.startsWith('[gateway') && /alert stream failed/.test(l))
          .map((l) => l.slice(0, 600));
        expect(sub.errors, streamErrors.join('\n')).toEqual([]);
        expect(sub.received.size).toBeGreaterThan(0);
      }
      // The subscribers really were cut off (by each gateway kill) and resumed.
      expect([...subscribers.values()].every((s) => s.connections >= 1 + ROUNDS)).toBe(true);
    },
    LONG ? 1_800_000 : 300_000,
  );
});

/** A deterministic shuffle (round-dependent). */
function shuffle<T>(items: T[], seed: number): T[] {
  const out = [...items];
  let s = seed * 7919;
  for (let i = out.length - 1; i > 0; i--) {
    s = (s * 48271) % 2147483647;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** Warnings and errors the services logged, counted by service and message. */
function summarizeProblems(lines: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of lines) {
    const label = line.slice(1, line.indexOf(']'));
    let msg: string;
    try {
      msg = (JSON.parse(line.slice(line.indexOf(']') + 2)) as { msg?: string }).msg ?? '?';
    } catch {
      msg = 'non-JSON output';
    }
    const key = `${label}: ${msg}`;
    out[key] = (out[key] ?? 0) + 1;
  }
  return out;
}
