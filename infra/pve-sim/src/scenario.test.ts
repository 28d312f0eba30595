import { describe, expect, it } from 'vitest';
import { ActivityGenerator } from './activity.ts';
import { ManualClock } from './clock.ts';
import { buildCluster, DEMO_SCENARIO, scaleScenario } from './scenario.ts';

const T0 = Date.UTC(2026, 10, 23, 12, 0, 0);

describe('demo scenario', () => {
  const clock = new ManualClock(T0);
  const [alpha, beta] = DEMO_SCENARIO.clusters.map((spec) => buildCluster(spec, clock, 1).state);

  it('has the documented shape: clusters, nodes, pools, ~30 guests with a template and unpooled guests', () => {
    expect([...alpha!.nodes.keys()]).toEqual(['pve-a1', 'pve-a2', 'pve-a3']);
    expect([...beta!.nodes.keys()]).toEqual(['pve-b1', 'pve-b2']);
    const guests = [...alpha!.guests.values(), ...beta!.guests.values()];
    expect(guests.length).toBe(30);
    for (const s of [alpha!, beta!]) expect([...s.access.pools.keys()].sort()).toEqual(['acme', 'globex', 'initech']);
    expect(guests.some((g) => g.template === 1)).toBe(true);
    expect(guests.some((g) => g.type === 'lxc') && guests.some((g) => g.type === 'qemu')).toBe(true);
    expect(guests.some((g) => g.status === 'running') && guests.some((g) => g.status === 'stopped')).toBe(true);
    expect(guests.some((g) => g.tags)).toBe(true);
    const pooled = (s: typeof alpha) => [...s!.guests.keys()].filter((v) => s!.access.poolOfVm(v)).length;
    expect(pooled(alpha) + pooled(beta)).toBeLessThan(30);
  });

  it('has a realistic task history with failed backups and running tasks', () => {
    let total = 0;
    let failedBackups = 0;
    let running = 0;
    for (const s of [alpha!, beta!]) {
      for (const n of s.nodes.values()) {
        const { items } = n.tasks.query({ start: 0, limit: 1e6, errors: false, source: 'all' });
        total += items.length;
        failedBackups += items.filter(
          (t) =>
            t.type === 'vzdump' && t.status !== 'OK' && !/^WARNINGS/.test(t.status ?? '') && t.status !== 'RUNNING',
        ).length;
        running += n.tasks.running.size;
      }
    }
    expect(total).toBeGreaterThan(300);
    expect(failedBackups).toBeGreaterThan(0);
    expect(running).toBeGreaterThan(0);
  });

  it('contains the hygiene findings', () => {
    const a = alpha!.access;
    expect([...a.tokens.values()].some((t) => t.expire === 0 && t.userid !== 'root@pam')).toBe(true);
    expect([...a.tokens.values()].some((t) => t.privsep === 0 && t.userid !== 'root@pam')).toBe(true);
    expect(
      a
        .aclEntries()
        .some((e) => e.path === '/' && e.roleid === 'Administrator' && e.ugid !== 'root@pam' && e.propagate === 1),
    ).toBe(true);
    const disabled = [...a.users.values()].filter((u) => u.enable === 0).map((u) => u.userid);
    expect(disabled.some((u) => a.aclEntries().some((e) => e.ugid === u))).toBe(true);
  });

  it('gives the sync token exactly PVEAuditor + Sys.Syslog (least privilege, privsep)', () => {
    const p = alpha!.perms.permissions('pvesync@pve!sync', '/');
    expect([...p.keys()].sort()).toEqual([
      'Datastore.Audit',
      'Mapping.Audit',
      'Pool.Audit',
      'SDN.Audit',
      'Sys.Audit',
      'Sys.Syslog',
      'VM.Audit',
      'VM.GuestAgent.Audit',
    ]);
    expect(alpha!.access.tokens.get('pvesync@pve!sync')?.privsep).toBe(1);
    expect(alpha!.perms.hasPrivilege('pvesync@pve!sync', '/vms/100', 'VM.PowerMgmt')).toBe(false);
  });

  it('is deterministic for a seed (ids, names, secrets, history) and differs for another seed', () => {
    const again = buildCluster(DEMO_SCENARIO.clusters[0]!, new ManualClock(T0), 1);
    const first = buildCluster(DEMO_SCENARIO.clusters[0]!, new ManualClock(T0), 1);
    const other = buildCluster(DEMO_SCENARIO.clusters[0]!, new ManualClock(T0), 2);
    const fingerprint = (b: typeof again) =>
      JSON.stringify({
        guests: [...b.state.guests.values()],
        tokens: [...b.state.access.tokens.values()],
        tasks: [...b.state.nodes.values()].map(
          (n) => n.tasks.query({ start: 0, limit: 1e6, errors: false, source: 'all' }).items,
        ),
        log: b.state.clusterLog.newest(1e6),
        journal: [...b.state.nodes.values()].map((n) => n.journal.entries.map((e) => n.journal.line(e))),
      });
    expect(fingerprint(again)).toBe(fingerprint(first));
    expect(fingerprint(other)).not.toBe(fingerprint(first));
  });
});

describe('scale scenario', () => {
  it('reaches 500 nodes / 15,000 guests / 100,000 tasks, and since-queries skip old history', () => {
    const clock = new ManualClock(T0);
    let nodes = 0;
    let guests = 0;
    let tasks = 0;
    for (const spec of scaleScenario().clusters) {
      const { state } = buildCluster(spec, clock, 1);
      nodes += state.nodes.size;
      guests += state.guests.size;
      for (const n of state.nodes.values()) tasks += n.tasks.archivedCount + n.tasks.running.size;
      if (spec.name === 'scale01') {
        const n = state.nodes.values().next().value!;
        const since = T0 / 1000 - 3600;
        const r = n.tasks.query({ start: 0, limit: 50, since, errors: false, source: 'archive' });
        expect(r.items.every((t) => t.starttime >= since)).toBe(true);
        expect(r.total).toBe(
          n.tasks
            .query({ start: 0, limit: 1e6, errors: false, source: 'archive' })
            .items.filter((t) => t.starttime >= since).length,
        );
      }
    }
    expect(nodes).toBe(500);
    expect(guests).toBe(15_000);
    expect(tasks).toBeGreaterThanOrEqual(100_000);
  });

  it('the archive rotates like index/index.1 at 50,000 bytes', () => {
    const clock = new ManualClock(T0);
    const { state } = buildCluster(
      { name: 'big', nodes: 1, guests: 5, pools: [], tasksPerNode: 3000, demoAccess: false },
      clock,
      1,
    );
    const n = state.nodes.values().next().value!;
    expect(n.tasks.archivedCount).toBeLessThan(3000);
    expect(n.tasks.archivedCount).toBeGreaterThan(600);
  });
});

describe('activity generator', () => {
  it('produces tasks, logins, auth failures and config changes deterministically', () => {
    const run = () => {
      const clock = new ManualClock(T0);
      const states = DEMO_SCENARIO.clusters.map((spec) => buildCluster(spec, clock, 3).state);
      const before = states.map((s) => ({
        log: s.clusterLog.size,
        acl: s.access.version,
        journal: [...s.nodes.values()].reduce((a, n) => a + n.journal.entries.length, 0),
      }));
      const gen = new ActivityGenerator(states, 10, 9);
      for (let i = 0; i < 300; i++) {
        gen.step();
        clock.advance(500);
      }
      for (const s of states) s.settle();
      return states.map((s, i) => ({
        tasks: [...s.nodes.values()].map((n) =>
          n.tasks.query({ start: 0, limit: 20, errors: false, source: 'all' }).items.map((t) => t.upid),
        ),
        journalGrowth: [...s.nodes.values()].reduce((a, n) => a + n.journal.entries.length, 0) - before[i]!.journal,
        aclChanged: s.access.version !== before[i]!.acl,
        failures: [...s.nodes.values()]
          .flatMap((n) => n.journal.entries)
          .filter((e) => e.msg.startsWith('authentication failure; rhost=')).length,
      }));
    };
    const a = run();
    expect(a).toEqual(run());
    expect(a.every((c) => c.journalGrowth > 0 && c.aclChanged && c.failures > 0)).toBe(true);
  });
});

describe('node time zones', () => {
  it('regression: a non-UTC node writes its journal in local wall time and reports its zone', () => {
    const built = buildCluster(DEMO_SCENARIO.clusters[1]!, new ManualClock(Date.UTC(2026, 10, 23, 14, 0, 0)), 1);
    const node = built.state.node('pve-b2');
    expect(node.journal.timeZone).toBe('Europe/Berlin');
    const e = node.journal.append({
      usec: Date.UTC(2026, 10, 23, 14, 21, 10) * 1000,
      ident: 'pvedaemon',
      pid: 1,
      msg: 'x',
    });
    expect(node.journal.line(e)).toBe('Nov 23 15:21:10 pve-b2 pvedaemon[1]: x');
    const utc = built.state.node('pve-b1').journal;
    expect(utc.line(utc.append({ usec: Date.UTC(2026, 10, 23, 14, 21, 10) * 1000, ident: 'a', msg: 'y' }))).toBe(
      'Nov 23 14:21:10 pve-b1 a: y',
    );
  });
});
