// Each starter rule as a unit: a scripted timeline of events (source times) run through the rule
// with its window state kept in memory, and an injectable clock for ctx.now.
import { describe, expect, it } from 'vitest';
import { ruleKinds, starterRules } from './catalog.ts';
import type { RuleEvent, Signal } from './types.ts';

const T0 = Date.parse('2026-11-20T10:00:00.000Z');

function ev(over: Partial<RuleEvent> & { at: number }): RuleEvent {
  const { at, ...rest } = over;
  return {
    chainId: 'c1',
    tenantId: 'c1',
    seq: 1,
    eventId: `e-${at}-${Math.random()}`,
    occurredAt: T0 + at * 1000,
    source: 'pve.journal',
    category: 'auth',
    action: 'auth.login_failed',
    outcome: 'failure',
    actorType: 'pve-user',
    actorId: 'root@pam',
    actorPrincipal: null,
    srcIp: '203.0.113.7',
    connectionId: 'conn',
    node: 'pve1',
    targetType: null,
    targetId: null,
    targetName: null,
    targetPath: null,
    upid: null,
    detection: 'reported',
    payload: {},
    vmid: null,
    guestTags: [],
    chainCount: 1,
    ...rest,
  };
}

/** Runs a starter rule (by code) over a timeline; returns the signals with the index of their event. */
function run(
  code: string,
  timeline: RuleEvent[],
  paramsOverride: Record<string, unknown> = {},
): Array<Signal & { at: number }> {
  const starter = starterRules.find((r) => r.code === code)!;
  const def = ruleKinds.get(starter.kind)!;
  const params = def.params.parse({ ...starter.params, ...paramsOverride });
  const states = new Map<string, unknown>();
  const clock = { t: T0 };
  const out: Array<Signal & { at: number }> = [];
  timeline.forEach((e, i) => {
    clock.t = Math.max(clock.t, e.occurredAt);
    const key = def.select(e, params);
    if (key === null) return;
    const res = def.evaluate(states.get(key) ?? null, e, {
      params,
      severity: starter.severity,
      now: new Date(clock.t),
    });
    states.set(key, res.state);
    for (const s of res.signals) out.push({ ...s, at: i });
  });
  return out;
}
const fires = (s: Array<Signal & { at: number }>) => s.filter((x) => x.type === 'fire');

describe('AUTH-001 brute force', () => {
  it('fires at the 8th failure from one IP within 120 s, not for slower or spread attempts', () => {
    const fast = Array.from({ length: 8 }, (_, i) => ev({ at: i * 10 }));
    expect(fires(run('AUTH-001', fast)).map((s) => s.at)).toEqual([7]);
    const slow = Array.from({ length: 8 }, (_, i) => ev({ at: i * 20 })); // 140 s span
    expect(fires(run('AUTH-001', slow))).toEqual([]);
    const twoIps = Array.from({ length: 8 }, (_, i) => ev({ at: i, srcIp: i % 2 ? '10.0.0.1' : '10.0.0.2' }));
    expect(fires(run('AUTH-001', twoIps))).toEqual([]);
    const s = fires(run('AUTH-001', fast))[0]!;
    expect(s).toMatchObject({ dedupKey: 'ip:203.0.113.7', severity: 'high' });
  });
  it('ignores successes and honours tenant thresholds', () => {
    expect(
      run(
        'AUTH-001',
        Array.from({ length: 10 }, (_, i) => ev({ at: i, outcome: 'success' })),
      ),
    ).toEqual([]);
    expect(
      fires(
        run(
          'AUTH-001',
          Array.from({ length: 3 }, (_, i) => ev({ at: i })),
          { threshold: 3 },
        ),
      ).length,
    ).toBe(1);
  });
});

describe('AUTH-002 password spray', () => {
  it('fires when 5 distinct users fail from one IP within 10 min', () => {
    const users = ['a@pve', 'b@pve', 'c@pve', 'd@pve', 'e@pve'];
    const tl = users.map((u, i) => ev({ at: i * 100, payload: { user: u } }));
    expect(fires(run('AUTH-002', tl)).map((s) => s.at)).toEqual([4]);
    const repeated = Array.from({ length: 10 }, (_, i) => ev({ at: i, payload: { user: 'a@pve' } }));
    expect(fires(run('AUTH-002', repeated))).toEqual([]);
    const spread = users.map((u, i) => ev({ at: i * 200, payload: { user: u } })); // 800 s > 600 s
    expect(fires(run('AUTH-002', spread))).toEqual([]);
  });
});

describe('AUTH-003 success after failures', () => {
  it('fires on a success after ≥ 5 failures of the same user within 10 min', () => {
    const tl = [
      ...Array.from({ length: 5 }, (_, i) => ev({ at: i * 30 })),
      ev({ at: 200, outcome: 'success', action: 'auth.login' }),
    ];
    expect(fires(run('AUTH-003', tl))).toMatchObject([{ at: 5, severity: 'critical', dedupKey: 'user:root@pam' }]);
    const four = [
      ...Array.from({ length: 4 }, (_, i) => ev({ at: i })),
      ev({ at: 10, outcome: 'success', action: 'auth.login' }),
    ];
    expect(fires(run('AUTH-003', four))).toEqual([]);
    const late = [
      ...Array.from({ length: 5 }, (_, i) => ev({ at: i })),
      ev({ at: 700, outcome: 'success', action: 'auth.login' }),
    ];
    expect(fires(run('AUTH-003', late))).toEqual([]);
    const otherUser = [
      ...Array.from({ length: 5 }, (_, i) => ev({ at: i })),
      ev({ at: 10, outcome: 'success', actorId: 'bob@pve' }),
    ];
    expect(fires(run('AUTH-003', otherUser))).toEqual([]);
  });
});

describe('PRIV-001 privilege escalation', () => {
  const acl = (payload: Record<string, unknown>) =>
    ev({ at: 0, category: 'acl', action: 'acl.granted', outcome: 'success', detection: 'diff', payload });
  it('fires for Administrator, risky privileges and propagating grants on /', () => {
    expect(
      fires(run('PRIV-001', [acl({ path: '/vms/100', roleid: 'Administrator', ugid: 'bob@pve', propagate: 1 })])),
    ).toHaveLength(1);
    expect(fires(run('PRIV-001', [acl({ path: '/vms/100', roleid: 'PVEUserAdmin', ugid: 'bob@pve' })]))).toHaveLength(
      1,
    );
    expect(
      fires(run('PRIV-001', [acl({ path: '/', roleid: 'PVEAuditor', ugid: 'bob@pve', propagate: 1 })])),
    ).toHaveLength(1);
    expect(
      fires(run('PRIV-001', [acl({ path: '/', roleid: 'PVEAuditor', ugid: 'bob@pve', propagate: 0 })])),
    ).toHaveLength(0);
    expect(fires(run('PRIV-001', [acl({ path: '/vms/100', roleid: 'PVEVMUser', ugid: 'bob@pve' })]))).toHaveLength(0);
    const role = ev({
      at: 0,
      category: 'role',
      action: 'role.changed',
      outcome: 'success',
      payload: { roleid: 'Ops', privs: ['VM.Audit', 'Sys.Modify'] },
    });
    expect(fires(run('PRIV-001', [role]))[0]).toMatchObject({ severity: 'critical' });
  });
});

describe('PRIV-002 risky API token', () => {
  const tok = (action: string, payload: Record<string, unknown>) =>
    ev({
      at: 0,
      category: 'token',
      action,
      outcome: 'success',
      detection: 'diff',
      payload: { tokenid: 'bob@pve!ci', ...payload },
    });
  it('medium without expiry, high with privsep=0; fixed tokens resolve', () => {
    const s = run('PRIV-002', [tok('token.observed', { expire: 0, privsep: false })]);
    expect(
      fires(s)
        .map((x) => (x as { severity: string }).severity)
        .sort(),
    ).toEqual(['high', 'medium']);
    const fixed = run('PRIV-002', [tok('token.changed', { expire: 1_900_000_000, privsep: true })]);
    expect(fixed.filter((x) => x.type === 'resolve')).toHaveLength(2);
    expect(fires(run('PRIV-002', [tok('token.created', { expire: 1_900_000_000, privsep: true })]))).toEqual([]);
    expect(run('PRIV-002', [{ ...tok('token.created', { expire: 0 }), source: 'portal' }])).toEqual([]);
  });
});

describe('VM-001 guest destroyed', () => {
  it('low for a destroy task, high for a guest that vanished without one', () => {
    const task = ev({
      at: 0,
      category: 'task',
      action: 'task.qmdestroy',
      outcome: 'success',
      vmid: 100,
      upid: 'UPID:x',
    });
    expect(fires(run('VM-001', [task]))[0]).toMatchObject({ severity: 'low', dedupKey: 'guest:conn:100' });
    const vanished = ev({
      at: 0,
      category: 'guest',
      action: 'guest.deleted',
      outcome: 'success',
      detection: 'diff',
      vmid: 100,
    });
    expect(fires(run('VM-001', [vanished]))[0]).toMatchObject({ severity: 'high' });
    expect(fires(run('VM-001', [{ ...task, outcome: 'failure' }]))).toEqual([]);
  });
});

describe('VM-001 order of diff and task', () => {
  const diff = (at: number) =>
    ev({ at, category: 'guest', action: 'guest.deleted', outcome: 'success', detection: 'diff', vmid: 100 });
  const destroy = (at: number) =>
    ev({
      at,
      category: 'task',
      action: 'task.qmdestroy',
      outcome: 'success',
      vmid: 100,
      upid: 'UPID:pve1:0000AB12:00C0FFEE:69230000:qmdestroy:100:alice@pve:',
    });

  it('regression: VM-001 is downgraded when the destroy task arrives after the inventory diff', () => {
    // one poll reports the diff first; the task event (same destruction, a few seconds earlier on
    // the source clock) is processed after it
    const signals = run('VM-001', [diff(30), destroy(25)]);
    expect(signals.map((s) => [s.at, s.type, 'severity' in s ? s.severity : null])).toEqual([
      [0, 'fire', 'high'],
      [1, 'reclassify', 'low'],
    ]);
    expect(signals[0]).toMatchObject({
      dedupKey: 'guest:conn:100',
      title: 'Guest 100 vanished without a destroy task',
    });
    expect(signals[1]).toMatchObject({
      dedupKey: 'guest:conn:100',
      title: 'Guest 100 destroyed',
      labels: { upid: expect.stringContaining('qmdestroy') },
    });
    // the task from an adjacent poll, ten minutes later, is still the same destruction
    expect(run('VM-001', [diff(0), destroy(600)]).map((s) => s.type)).toEqual(['fire', 'reclassify']);
  });

  it('keeps high when the task comes outside the correlation window, and low in task-first order', () => {
    expect(
      run('VM-001', [diff(0), destroy(3 * 3600)]).map((s) => [s.type, 'severity' in s ? s.severity : null]),
    ).toEqual([
      ['fire', 'high'],
      ['fire', 'low'],
    ]);
    expect(run('VM-001', [destroy(0), diff(5)]).map((s) => [s.type, 'severity' in s ? s.severity : null])).toEqual([
      ['fire', 'low'],
      ['fire', 'low'],
    ]);
    // a re-classified guest is not re-classified again by a second task report
    expect(run('VM-001', [diff(0), destroy(1), destroy(2)]).map((s) => s.type)).toEqual(['fire', 'reclassify', 'fire']);
  });
});

describe('BKP-001 backup failed', () => {
  it('fires on a failed vzdump and resolves on the next success', () => {
    const tl = [
      ev({ at: 0, category: 'task', action: 'task.vzdump', outcome: 'failure', vmid: 100 }),
      ev({ at: 3600, category: 'task', action: 'task.vzdump', outcome: 'success', vmid: 100 }),
    ];
    expect(run('BKP-001', tl).map((s) => [s.type, s.dedupKey])).toEqual([
      ['fire', 'backup:conn:100'],
      ['resolve', 'backup:conn:100'],
    ]);
  });
});

describe('TASK-001 task failure spike', () => {
  const task = (at: number, outcome: 'success' | 'failure') =>
    ev({ at, category: 'task', action: 'task.qmstart', outcome });
  it('fires at 5 failures in 15 min without history', () => {
    const tl = Array.from({ length: 5 }, (_, i) => task(i * 60, 'failure'));
    expect(fires(run('TASK-001', tl)).map((s) => s.at)).toEqual([4]);
  });
  it('needs 3× the baseline on a node that fails often, and resolves when calm', () => {
    // history: a failure every 5 min for 24 h (≈3 per window) → threshold ≈ 9 instead of 5
    const history = Array.from({ length: 288 }, (_, i) => task(i * 300, 'failure'));
    expect(fires(run('TASK-001', history))).toEqual([]);
    const start = 86_400 + 60;
    const burst = (n: number) => Array.from({ length: n }, (_, i) => task(start + i * 30, 'failure'));
    expect(fires(run('TASK-001', [...history, ...burst(4)]))).toEqual([]);
    expect(fires(run('TASK-001', burst(5)))).toHaveLength(1);
    const spike = fires(run('TASK-001', [...history, ...burst(12)]));
    expect(spike.length).toBeGreaterThan(0);
    expect(spike[0]!.at).toBeGreaterThan(history.length + 4);
    const calm = [...Array.from({ length: 5 }, (_, i) => task(i, 'failure')), task(3000, 'success')];
    expect(run('TASK-001', calm).map((x) => x.type)).toEqual(['fire', 'resolve']);
  });
});

describe('TASK-002 guest task failed', () => {
  it('fires per guest and task type, resolves on the next success of that type', () => {
    const tl = [
      ev({ at: 0, category: 'task', action: 'task.qmstart', outcome: 'failure', vmid: 100 }),
      ev({ at: 1, category: 'task', action: 'task.qmstop', outcome: 'success', vmid: 100 }),
      ev({ at: 2, category: 'task', action: 'task.qmstart', outcome: 'success', vmid: 101 }),
      ev({ at: 3, category: 'task', action: 'task.qmstart', outcome: 'success', vmid: 100 }),
      ev({ at: 4, category: 'task', action: 'task.aptupdate', outcome: 'failure', vmid: null }),
    ];
    const s = run('TASK-002', tl).filter((x) => x.dedupKey === 'task:conn:100:qmstart');
    expect(s.map((x) => [x.type, x.at])).toEqual([
      ['fire', 0],
      ['resolve', 3],
    ]);
    expect(fires(run('TASK-002', tl))).toHaveLength(1);
    expect(fires(run('TASK-002', tl))[0]).toMatchObject({ severity: 'medium' });
  });
});

describe('TEN-001 / TEN-002 / SYNC-001 / AUDIT-001', () => {
  it('TEN-001 fires for every move', () => {
    const tl = [
      ev({ at: 0, action: 'assignment.guest_moved', vmid: 100 }),
      ev({ at: 5, action: 'guest.moved', vmid: 100 }),
    ];
    expect(fires(run('TEN-001', tl))).toHaveLength(2);
  });
  it('TEN-002 is info for members and medium for tenant admins', () => {
    const m = (role: string) => ev({ at: 0, action: 'membership.added', payload: { role, username: 'carol' } });
    expect(fires(run('TEN-002', [m('tenant_user')]))[0]).toMatchObject({ severity: 'info' });
    expect(fires(run('TEN-002', [m('tenant_admin')]))[0]).toMatchObject({ severity: 'medium' });
    const promoted = ev({ at: 0, action: 'membership.changed', targetName: 'dave', payload: { role: 'tenant_admin' } });
    expect(fires(run('TEN-002', [promoted]))[0]).toMatchObject({
      severity: 'medium',
      title: 'dave promoted to tenant_admin',
    });
  });
  it('SYNC-001 fires on gaps (high) and unreachable (medium), recovery resolves', () => {
    const tl = [
      ev({ at: 0, action: 'sync.gap_detected', payload: { source: 'cluster-log' } }),
      ev({ at: 1, action: 'sync.unreachable' }),
      ev({ at: 2, action: 'sync.recovered' }),
    ];
    const s = run('SYNC-001', tl);
    expect(s.map((x) => [x.type, x.type === 'fire' ? x.severity : null])).toEqual([
      ['fire', 'high'],
      ['fire', 'medium'],
      ['resolve', null],
      ['resolve', null],
    ]);
  });
  it('AUDIT-001 fires and never resolves', () => {
    const tl = [
      ev({ at: 0, action: 'audit.verification_failed', payload: { chainId: 'c1', codes: ['SEQ_GAP'] } }),
      ev({ at: 1, action: 'audit.exported' }),
    ];
    const s = run('AUDIT-001', tl);
    expect(s).toHaveLength(1);
    expect(s[0]).toMatchObject({ type: 'fire', severity: 'critical' });
  });
});

describe('catalog', () => {
  it('every starter rule has a kind the engine or the monitors run, with valid params', () => {
    for (const r of starterRules) {
      const def = ruleKinds.get(r.kind);
      if (r.kind === 'sync_lag' || r.kind === 'inbox_lag') continue;
      expect(def, r.code).toBeDefined();
      expect(def!.params.safeParse(r.params).success, r.code).toBe(true);
    }
    expect(new Set(starterRules.map((r) => r.code)).size).toBe(starterRules.length);
  });
});
