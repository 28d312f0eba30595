// Issue 8, point 3: scale-out. Two gateways, two auditors and two pve-sync workers on one Postgres
// and one Redis, under scripted PVE activity:
//   - each connection is polled once per interval, not once per worker: every completed poll
//     increments the connection's health cursor (`sync_cursor` source 'connection', cursor.v), so
//     its growth over a measured window is the number of polls, whoever ran them;
//   - no duplicate audit rows, gapless seq, every simulator task event chained exactly once, and
//     every chain verifies with the operator CLI;
//   - subscribers of two tenants on each gateway receive every alert transition of their tenant
//     (live: they never reconnect) and none of another tenant's.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { eventually } from '../src/harness.ts';
import { GqlSession } from '../src/graphql-client.ts';
import { FaultStack, sleep } from '../faults/support/fault-stack.ts';
import { AlertSubscriber } from '../faults/support/alert-subscriber.ts';
import { ScriptedActivity } from '../faults/support/activity.ts';
import {
  auditTrailProblems,
  expectedTaskEvents,
  pendingKeys,
  runVerifier,
  type TrailContext,
} from '../faults/support/audit-checks.ts';

const POLL_INTERVAL_MS = 2000;
const WINDOW_MS = 30_000;
const TENANTS = ['acme', 'globex'] as const;

describe('scale-out: 2 gateways, 2 auditors, 2 pve-sync workers on one Postgres and Redis', () => {
  let stack: FaultStack;
  let db: pg.Pool;
  let ctx: TrailContext;
  let activity: ScriptedActivity;
  const subscribers: Array<{ tenant: string; gateway: number; sub: AlertSubscriber }> = [];
  const tenantIds = new Map<string, string>();

  beforeAll(async () => {
    stack = await FaultStack.start('scaleout', {
      instances: { gateway: 2, auditor: 2, 'pve-sync': 2 },
      pollIntervalMs: POLL_INTERVAL_MS,
      extraEnv: { SWEEP_INTERVAL_MS: '1000', CHECKPOINT_EVERY_RECORDS: '200', CHECKPOINT_INTERVAL_MS: '5000' },
      logLevels: { 'pve-sync': 'debug' },
    });
    db = new pg.Pool({ connectionString: stack.databaseUrl, max: 4 });
    db.on('error', () => {});
    ctx = {
      db,
      sim: stack.sim,
      connections: new Map(stack.seed.connections.map((c) => [c.name, c.id])),
      tenantOfPool: new Map(stack.seed.tenants.map((t) => [t.slug, t.id])),
    };
    for (const t of stack.seed.tenants) tenantIds.set(t.slug, t.id);
    activity = new ScriptedActivity(stack.sim, { seed: 3, intervalMs: 150, tenantPools: [...TENANTS] });
  }, 180_000);

  afterAll(async () => {
    activity?.stop();
    await Promise.allSettled(subscribers.map((s) => s.sub.stop()));
    await db?.end().catch(() => undefined);
    await stack?.stop();
  });

  async function pollCounts(): Promise<Map<string, number>> {
    const { rows } = await db.query<{ connection_id: string; v: number }>(
      `SELECT connection_id, COALESCE((cursor->>'v')::int, 0) AS v FROM sync_cursor WHERE source = 'connection'`,
    );
    return new Map(rows.map((r) => [r.connection_id, r.v]));
  }

  async function undelivered(tenant: string, sub: AlertSubscriber): Promise<string[]> {
    const { rows } = await db.query<{ id: string }>(
      'SELECT id::text AS id FROM alert_event WHERE tenant_id = $1 ORDER BY id',
      [tenantIds.get(tenant)],
    );
    return sub.missing(rows.map((r) => r.id));
  }

  it('polls each connection once per interval, chains each event once, and fans alerts out to every gateway', async () => {
    const gateways = stack.all('gateway');
    expect(gateways).toHaveLength(2);
    expect(new Set(gateways.map((g) => g.port)).size).toBe(2);
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

    // A subscriber per tenant on each gateway (sessions live in Postgres: log in on one, use both).
    for (const slug of TENANTS) {
      const login = stack.seed.logins.find((l) => l.username === `${slug}-user`)!;
      const session = new GqlSession(gateways[0]!.httpUrl!);
      await session.login(login.username, login.password, login.tenant!.id);
      gateways.forEach((g, i) => {
        const sub = new AlertSubscriber(`${slug}@gateway${i + 1}`, [g.wsUrl!], {
          token: session.token!,
          tenantId: login.tenant!.id,
        });
        sub.start();
        subscribers.push({ tenant: slug, gateway: i, sub });
      });
    }
    await eventually(
      async () => (subscribers.every((s) => s.sub.connections === 1) ? true : undefined),
      30_000,
      'every subscriber connected',
    );

    // Measure polls over a window while the activity runs.
    activity.start();
    await sleep(2000);
    const before = await pollCounts();
    const t0 = Date.now();
    await sleep(WINDOW_MS);
    const after = await pollCounts();
    const windowMs = Date.now() - t0;
    const intervals = windowMs / POLL_INTERVAL_MS;
    const polls = Object.fromEntries(
      stack.seed.connections.map((c) => [c.name, (after.get(c.id) ?? 0) - (before.get(c.id) ?? 0)]),
    );
    activity.stop();
    activity.finishAll();

    // Every poll job went to one of the workers; the log says which (pve-sync logs at debug here).
    const pollsByWorker: Record<string, Record<string, number>> = {};
    for (const line of stack.logs) {
      if (!line.startsWith('[pve-sync#') || !line.includes('"poll done"')) continue;
      const label = line.slice(1, line.indexOf(']'));
      const status = (JSON.parse(line.slice(line.indexOf(']') + 2)) as { status: string }).status;
      pollsByWorker[label] ??= {};
      pollsByWorker[label][status] = (pollsByWorker[label][status] ?? 0) + 1;
    }

    // Convergence, then the same trail checks as the fault test.
    const expected = expectedTaskEvents(ctx, activity.record.moved);
    const required = expected.filter((e) => !e.optional).map((e) => e.key);
    await eventually(
      async () => ((await pendingKeys(db, required)).length === 0 ? true : undefined),
      90_000,
      'every simulator task event in the inbox and processed',
    );
    await eventually(
      async () => ((await auditTrailProblems(ctx, expected, activity.record)).length === 0 ? true : undefined),
      30_000,
      'the audit trail checks',
    ).catch(() => undefined);
    await eventually(
      async () => {
        for (const s of subscribers) if ((await undelivered(s.tenant, s.sub)).length > 0) return undefined;
        return true;
      },
      30_000,
      'every alert on every gateway',
    ).catch(() => undefined);

    const summary = {
      windowMs,
      pollIntervalMs: POLL_INTERVAL_MS,
      intervals: Math.round(intervals * 10) / 10,
      polls,
      pollsByWorker,
      activitySteps: activity.record.steps,
      expectedTaskEvents: required.length,
      records: Number((await db.query('SELECT count(*) AS n FROM audit_record')).rows[0].n),
      alertEvents: Number((await db.query('SELECT count(*) AS n FROM alert_event')).rows[0].n),
      subscribers: subscribers.map((s) => ({
        name: s.sub.name,
        received: s.sub.received.size,
        duplicates: s.sub.duplicates,
        connections: s.sub.connections,
      })),
    };
    console.info(`scale-out summary ${JSON.stringify(summary, null, 1)}`);

    // One poll per connection per interval: never more than the window allows (two uncoordinated
    // workers would poll about twice as often), and polling did go on. Each edge of the window can
    // catch one poll of a neighbouring interval (a delayed one finishing just after the first read),
    // hence intervals + 2.
    const atMost = Math.floor(intervals) + 2;
    for (const [name, n] of Object.entries(polls)) {
      expect(n, `polls of ${name} in ${intervals.toFixed(1)} intervals`).toBeLessThanOrEqual(atMost);
      expect(n, `polls of ${name} in ${intervals.toFixed(1)} intervals`).toBeGreaterThanOrEqual(
        Math.floor(intervals / 3),
      );
    }
    // Both workers took poll jobs.
    expect(Object.keys(pollsByWorker).sort()).toEqual(['pve-sync#1', 'pve-sync#2']);

    expect(await auditTrailProblems(ctx, expected, activity.record)).toEqual([]);
    const verified = await runVerifier(stack.databaseUrl, stack.publicKeyFile);
    expect(verified.output.slice(0, 2000)).not.toMatch(/FAILED|"ok": false/);
    expect(verified.code).toBe(0);
    expect(verified.reports.length).toBeGreaterThan(1);

    // Every subscriber on either gateway: every alert of its tenant, nothing of another tenant,
    // all of it on its first connection (so everything after the replay came live via Redis).
    for (const s of subscribers) {
      expect({ who: s.sub.name, missing: await undelivered(s.tenant, s.sub) }).toEqual({
        who: s.sub.name,
        missing: [],
      });
      const alertIds = [...new Set([...s.sub.received.values()].map((a) => a.alertId))];
      const { rows: owners } = await db.query<{ tenant_id: string | null }>(
        'SELECT DISTINCT tenant_id FROM alert WHERE id = ANY($1::uuid[])',
        [alertIds],
      );
      expect(owners.map((o) => o.tenant_id)).toEqual([tenantIds.get(s.tenant)]);
      expect(s.sub.connections).toBe(1);
      expect(s.sub.errors).toEqual([]);
    }
    // Alerts did fire for each tenant while the subscribers were connected.
    const { rows: live } = await db.query<{ tenant_id: string; n: number }>(
      `SELECT tenant_id, count(*)::int AS n FROM alert_event WHERE at > now() - ($1::int * interval '1 millisecond')
          GROUP BY tenant_id`,
      [Date.now() - t0 + 5000],
    );
    for (const t of TENANTS) expect(live.find((r) => r.tenant_id === tenantIds.get(t))?.n ?? 0).toBeGreaterThan(0);
  }, 300_000);
});
