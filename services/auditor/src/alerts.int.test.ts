import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { alertChannel, AlertNotification, parseContract } from '@tenantgate/shared';
import { testRedisUrl } from '@tenantgate/testing';
import { assign, event, FakeClock, fixture, insertEvents, setupEnv, type Env } from './test-support.ts';
import { inTransaction } from './db.ts';
import { seedStarterRules } from './alerts/seed.ts';

let env: Env;
let acme: string, globex: string, conn: string;
let sub: Redis;
const received: AlertNotification[] = [];

beforeAll(async () => {
  env = await setupEnv('auditalert');
  const f = await fixture(env.db, ['acme', 'globex']);
  [acme, globex] = f.tenants as [string, string];
  conn = f.connectionId;
  await assign(env.db, { tenantId: acme, connectionId: conn, kind: 'guest', vmid: 100 });
  await assign(env.db, { tenantId: globex, connectionId: conn, kind: 'pool', pool: 'gx' });
  await seedStarterRules(env.db);
  sub = new Redis(testRedisUrl());
  await sub.subscribe(alertChannel(env.prefix, acme), alertChannel(env.prefix, globex), alertChannel(env.prefix, null));
  sub.on('message', (_ch, msg) =>
    received.push(parseContract('AlertNotification', AlertNotification, JSON.parse(msg))),
  );
});
afterAll(async () => {
  await sub.quit();
  await env.close();
});

async function waitFor(pred: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !pred(); i++) await new Promise((r) => setTimeout(r, 10));
}

async function alerts(code: string, tenant: string | null = null) {
  const r = await env.db.query<{
    id: string;
    state: string;
    occurrences: number;
    dedup_key: string;
    severity: string;
    tenant_id: string | null;
  }>(
    `SELECT a.id, a.state, a.occurrences, a.dedup_key, a.severity, a.tenant_id FROM alert a JOIN alert_rule r ON r.id = a.rule_id
     WHERE r.code = $1 AND a.tenant_id IS NOT DISTINCT FROM $2 ORDER BY a.created_at`,
    [code, tenant],
  );
  return r.rows;
}

const failedTask = (
  vmid: number,
  type = 'qmstart',
  outcome: 'failure' | 'success' = 'failure',
  pool: string | null = null,
) =>
  event({
    connectionId: conn,
    category: 'task',
    action: `task.${type}`,
    outcome,
    guest: { vmid, pool },
    node: 'pve1',
    upid: `UPID:pve1:00000001:00000001:6923${vmid}:${type}:${vmid}:alice@pve:`,
    payload: { status: outcome === 'failure' ? 'command failed' : 'OK' },
  });

describe('TASK-002: a failed task on a tenant VM alerts that tenant', () => {
  it('fires, publishes on the tenant channel with the alert_event cursor, dedups, and resolves on success', async () => {
    const s = env.newService();
    await insertEvents(env.db, [failedTask(100)]);
    await s.drainNow();
    const [a] = await alerts('TASK-002', acme);
    expect(a).toMatchObject({ state: 'firing', severity: 'medium', dedup_key: `task:${conn}:100:qmstart` });
    expect(await alerts('TASK-002', globex)).toEqual([]);
    await waitFor(() => received.some((n) => n.alertId === a!.id));
    const n = received.find((x) => x.alertId === a!.id)!;
    const ev = await env.db.query<{ id: string }>(`SELECT id FROM alert_event WHERE alert_id = $1`, [a!.id]);
    expect(n).toMatchObject({
      tenantId: acme,
      ruleCode: 'TASK-002',
      state: 'firing',
      fromState: null,
      cursor: ev.rows[0]!.id,
    });

    await insertEvents(env.db, [failedTask(100)]);
    await s.drainNow();
    expect((await alerts('TASK-002', acme)).map((x) => [x.state, x.occurrences])).toEqual([['firing', 2]]);

    await insertEvents(env.db, [failedTask(100, 'qmstart', 'success')]);
    await s.drainNow();
    expect((await alerts('TASK-002', acme)).map((x) => x.state)).toEqual(['resolved']);
    await waitFor(() => received.some((x) => x.alertId === a!.id && x.state === 'resolved'));

    // a trigger after resolution opens a new alert
    await insertEvents(env.db, [failedTask(100)]);
    await s.drainNow();
    expect((await alerts('TASK-002', acme)).map((x) => x.state)).toEqual(['resolved', 'firing']);
  });
});

describe('lifecycle', () => {
  it('stores acknowledge, silence and manual resolve as alert events', async () => {
    const clock = new FakeClock(Date.now());
    const s = env.newService({ clock });
    await insertEvents(env.db, [failedTask(200, 'qmreboot', 'failure', 'gx')]);
    await s.drainNow();
    const [a] = await alerts('TASK-002', globex);
    await inTransaction(env.db, async (tx) => await s.store.acknowledge(tx, a!.id, null, 'looking'));
    const { notifications } = await inTransaction(
      env.db,
      async (tx) =>
        await s.store.addSilence(tx, {
          tenantId: globex,
          ruleCode: 'TASK-002',
          dedupKey: null,
          until: new Date(clock.t + 60_000),
          reason: 'maintenance',
          createdBy: null,
        }),
    );
    expect(notifications).toEqual([]); // acknowledged alerts stay acknowledged
    await insertEvents(env.db, [failedTask(200, 'qmshutdown', 'failure', 'gx')]);
    await s.drainNow();
    const rows = await alerts('TASK-002', globex);
    expect(rows.map((r) => r.state)).toEqual(['acknowledged', 'silenced']);
    clock.advance(120_000); // the silence expires
    const fired = await s.runMonitors();
    expect(fired.filter((n) => n.alertId === rows[1]!.id).map((n) => [n.fromState, n.state])).toEqual([
      ['silenced', 'firing'],
    ]);
    await inTransaction(env.db, async (tx) => await s.store.resolveById(tx, a!.id, null, 'fixed'));
    const trail = await env.db.query<{ from_state: string | null; to_state: string }>(
      `SELECT from_state, to_state FROM alert_event WHERE alert_id = $1 ORDER BY id`,
      [a!.id],
    );
    expect(trail.rows).toEqual([
      { from_state: null, to_state: 'firing' },
      { from_state: 'firing', to_state: 'acknowledged' },
      { from_state: 'acknowledged', to_state: 'resolved' },
    ]);
    await expect(env.db.query(`DELETE FROM alert_event WHERE alert_id = $1`, [a!.id])).rejects.toThrow(/insert-only/);
  });
});

describe('window rules', () => {
  const authFail = (vmid: number, user = 'root@pam') =>
    event({
      connectionId: conn,
      source: 'pve.journal',
      category: 'auth',
      action: 'auth.login_failed',
      outcome: 'failure',
      srcIp: '198.51.100.9',
      guest: { vmid },
      payload: { user },
    });

  it('keeps window state in Postgres across a restart (AUTH-001)', async () => {
    const a = env.newService();
    await insertEvents(
      env.db,
      Array.from({ length: 4 }, () => authFail(100)),
    );
    await a.drainNow();
    await a.stop();
    expect(await alerts('AUTH-001', acme)).toEqual([]);
    const state = await env.db.query(
      `SELECT state FROM alert_rule_state s JOIN alert_rule r ON r.id = s.rule_id WHERE r.code = 'AUTH-001'`,
    );
    expect(state.rowCount).toBe(1);
    const b = env.newService();
    await insertEvents(
      env.db,
      Array.from({ length: 4 }, () => authFail(100)),
    );
    await b.drainNow();
    expect((await alerts('AUTH-001', acme)).map((x) => x.state)).toEqual(['firing']);
  });

  it('runs tenant-authored rules of the same kinds for their tenant only', async () => {
    await env.db.query(
      `INSERT INTO alert_rule (tenant_id, code, kind, name, severity, params) VALUES ($1, 'T-AUTH', 'auth_bruteforce', 'strict brute force', 'critical', '{"threshold": 3}')`,
      [globex],
    );
    await env.db.query(
      `INSERT INTO alert_rule (tenant_id, code, kind, name, severity, params) VALUES ($1, 'T-BAD', 'auth_bruteforce', 'bad params', 'low', '{"threshold": "many"}')`,
      [globex],
    );
    const s = env.newService();
    const inPool = (n: number) =>
      Array.from({ length: n }, () => ({ ...authFail(300), guest: { vmid: 300, pool: 'gx' } }));
    await insertEvents(env.db, inPool(3));
    await s.drainNow();
    expect((await alerts('T-AUTH', globex)).map((x) => [x.state, x.severity])).toEqual([['firing', 'critical']]);
    expect(await alerts('T-AUTH', acme)).toEqual([]);
  });
});

describe('tenant-authored rules: scope', () => {
  it('a rule scoped by tag or by VM only sees events of those guests', async () => {
    for (const [vmid, tags] of [
      [202, ['prod', 'db']],
      [203, []],
    ] as const)
      await env.db.query(
        `INSERT INTO guest (connection_id, vmid, type, node, name, status, pool, tags, raw) VALUES ($1, $2, 'qemu', 'pve1', $3, 'running', 'gx', $4, '{}')`,
        [conn, vmid, `vm${vmid}`, tags],
      );
    await env.db.query(
      `INSERT INTO alert_rule (tenant_id, code, kind, name, severity, params, scope) VALUES
         ($1, 'T-PROD', 'guest_task_failed', 'prod task failures', 'high', '{}', '{"tags": ["prod"]}'),
         ($1, 'T-VM203', 'guest_task_failed', 'vm 203 task failures', 'low', '{}', '{"vmids": [203]}')`,
      [globex],
    );
    const s = env.newService();
    await insertEvents(env.db, [
      failedTask(202, 'qmmigrate', 'failure', 'gx'),
      failedTask(203, 'qmmigrate', 'failure', 'gx'),
    ]);
    await s.drainNow();
    const keys = async (code: string) => (await alerts(code, globex)).map((a) => [a.dedup_key, a.severity]);
    expect(await keys('T-PROD')).toEqual([[`task:${conn}:202:qmmigrate`, 'high']]);
    expect(await keys('T-VM203')).toEqual([[`task:${conn}:203:qmmigrate`, 'low']]);
    // the provider-wide starter rule is not scoped: both guests
    expect((await alerts('TASK-002', globex)).filter((a) => a.dedup_key.endsWith(':qmmigrate'))).toHaveLength(2);
  });
});

describe('monitors (injectable clock)', () => {
  it('AUDIT-002 fires when the inbox lags and resolves once drained', async () => {
    const clock = new FakeClock(Date.now() + 120_000);
    const s = env.newService({ clock });
    await insertEvents(env.db, [event({})]);
    await s.runMonitors();
    expect((await alerts('AUDIT-002')).map((x) => [x.state, x.severity])).toEqual([['firing', 'critical']]);
    await s.drainNow();
    await s.runMonitors();
    expect((await alerts('AUDIT-002')).map((x) => x.state)).toEqual(['resolved']);
  });

  it('SYNC-001 lag fires when the last good poll is older than 3× the interval', async () => {
    await env.db.query(`UPDATE pve_connection SET poll_interval_ms = 10000 WHERE id = $1`, [conn]);
    await env.db.query(
      `INSERT INTO sync_cursor (connection_id, source, last_success_at) VALUES ($1, 'resources', now())`,
      [conn],
    );
    const clock = new FakeClock(Date.now() + 25_000);
    const s = env.newService({ clock });
    const open = async () => (await alerts('SYNC-001L')).filter((x) => x.state !== 'resolved');
    await s.runMonitors();
    expect(await open()).toEqual([]);
    clock.advance(10_000);
    await s.runMonitors();
    expect((await open()).map((x) => [x.state, x.dedup_key])).toEqual([['firing', `lag:${conn}`]]);
    await env.db.query(`UPDATE sync_cursor SET last_success_at = $2 WHERE connection_id = $1`, [conn, clock.now()]);
    await s.runMonitors();
    expect(await open()).toEqual([]);
  });
});

describe('VM-001 through the pipeline', () => {
  const deleted = (vmid: number, at: string, pool: string | null = null) =>
    event({
      connectionId: conn,
      source: 'pve.inventory',
      category: 'guest',
      action: 'guest.deleted',
      outcome: 'success',
      actor: { type: 'unknown', id: null, principal: null },
      node: 'pve1',
      target: { type: 'qemu', id: String(vmid), name: `vm${vmid}`, path: `/vms/${vmid}` },
      guest: { vmid, pool },
      detection: 'diff',
      occurredAt: at,
      observedAt: at,
    });
  const destroyTask = (vmid: number, at: string, observedAt: string, pool: string | null = null) =>
    event({
      connectionId: conn,
      category: 'task',
      action: 'task.qmdestroy',
      outcome: 'success',
      node: 'pve1',
      target: { type: 'qemu', id: String(vmid), name: `vm${vmid}`, path: `/vms/${vmid}` },
      guest: { vmid, pool },
      upid: `UPID:pve1:0000AB12:00C0FFEE:69230000:qmdestroy:${vmid}:alice@pve:`,
      occurredAt: at,
      observedAt,
    });
  const vm001 = async (tenant: string, vmid: number) =>
    (
      await env.db.query<{ id: string; state: string; severity: string; title: string; occurrences: number }>(
        `SELECT a.id, a.state, a.severity, a.title, a.occurrences FROM alert a JOIN alert_rule r ON r.id = a.rule_id
         WHERE r.code = 'VM-001' AND a.tenant_id = $1 AND a.dedup_key = $2 ORDER BY a.created_at`,
        [tenant, `guest:${conn}:${vmid}`],
      )
    ).rows;
  const trail = async (alertId: string) =>
    (
      await env.db.query<{ from_state: string | null; to_state: string; note: string | null }>(
        `SELECT from_state, to_state, note FROM alert_event WHERE alert_id = $1 ORDER BY id`,
        [alertId],
      )
    ).rows;

  it('regression: VM-001 is downgraded when the destroy task arrives after the inventory diff', async () => {
    const s = env.newService();
    // poll n: the inventory diff; poll n+1: the destroy task (it ran a few seconds before the diff)
    await insertEvents(env.db, [deleted(100, '2026-11-21T09:00:30.000Z')]);
    await s.drainNow();
    const [before] = await vm001(acme, 100);
    expect(before).toMatchObject({
      state: 'firing',
      severity: 'high',
      title: 'Guest 100 (vm100) vanished without a destroy task',
    });

    await insertEvents(env.db, [destroyTask(100, '2026-11-21T09:00:25.000Z', '2026-11-21T09:00:40.000Z')]);
    await s.drainNow();
    const after = await vm001(acme, 100);
    expect(after).toHaveLength(1); // the same alert, re-classified: not a second one
    expect(after[0]).toMatchObject({
      id: before!.id,
      state: 'firing',
      severity: 'low',
      title: 'Guest 100 (vm100) destroyed',
      occurrences: 2,
    });
    const events = await trail(before!.id);
    expect(events.map((e) => [e.from_state, e.to_state])).toEqual([
      [null, 'firing'],
      ['firing', 'firing'],
    ]);
    expect(events[1]!.note).toMatch(/high → low/);
    const cursor = (
      await env.db.query<{ id: string }>(`SELECT max(id)::text AS id FROM alert_event WHERE alert_id = $1`, [
        before!.id,
      ])
    ).rows[0]!.id;
    await waitFor(() => received.some((n) => n.cursor === cursor));
    expect(received.find((n) => n.cursor === cursor)).toMatchObject({
      alertId: before!.id,
      tenantId: acme,
      ruleCode: 'VM-001',
      fromState: 'firing',
      state: 'firing',
      severity: 'low',
      title: 'Guest 100 (vm100) destroyed',
    });
  });

  it('downgrades within one batch too (diff observed before the task of the same poll)', async () => {
    const s = env.newService();
    await insertEvents(env.db, [
      destroyTask(201, '2026-11-21T10:00:05.000Z', '2026-11-21T10:00:31.000Z', 'gx'),
      deleted(201, '2026-11-21T10:00:30.000Z', 'gx'),
    ]);
    await s.drainNow();
    const rows = await vm001(globex, 201);
    expect(rows.map((r) => [r.state, r.severity, r.occurrences])).toEqual([['firing', 'low', 2]]);
    expect((await trail(rows[0]!.id)).map((e) => [e.from_state, e.to_state])).toEqual([
      [null, 'firing'],
      ['firing', 'firing'],
    ]);
  });
});
