// Calls every endpoint the simulator serves (demo scenario) and validates each response's `data`
// against the `returns` schema of that path/method in PVE's official API schema (9.1), plus the
// stricter shape rules of shared/pve/api-shapes.md where the schema is vague.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from './clock.ts';
import { handlers } from './http/api.ts';
import { checkValue, matchEndpoint, methodInfo } from './schema.ts';
import { startSimulator, type Simulator, type SimCluster } from './simulator.ts';
import { request, tokenHeader } from './testing/request.ts';

let sim: Simulator;
let alpha: SimCluster;
const clock = new ManualClock(Date.UTC(2026, 10, 23, 12, 0, 0));
const exercised = new Set<string>();

beforeAll(async () => {
  sim = await startSimulator({ scenario: 'demo', seed: 11, clock, powerTaskDurationS: 5 });
  alpha = sim.cluster('alpha');
});
afterAll(() => sim.stop());

/** Documented deviations of real PVE from its own schema (api-shapes.md). */
const KNOWN_SCHEMA_DEVIATIONS: Record<string, RegExp> = {
  // "`tokens` … or **`null`** if the user has no tokens" (api-shapes.md, GET /access/users full=1)
  'GET /access/users': /^data\[\d+\]\.tokens: null \(optional fields must be omitted, not null\)$/,
};

async function call(
  method: string,
  path: string,
  form?: Record<string, string | number>,
): Promise<{ data: unknown; total?: number; raw: any }> {
  const res = await request(alpha.url, `/api2/json${path}`, {
    method,
    headers: tokenHeader(alpha.rootTokenString),
    ...(form ? { form } : {}),
  });
  expect(res.status, `${method} ${path}: ${res.text}`).toBe(200);
  expect(res.headers['content-type']).toBe('application/json;charset=UTF-8');
  const body = res.json();
  const ep = matchEndpoint(method, path.split('?')[0] as string);
  expect(ep?.info, `${method} ${path} is in the schema`).toBeDefined();
  const template = ep?.template as string;
  exercised.add(`${method} ${template}`);
  const errors = checkValue(methodInfo(template, method)?.returns, body.data).filter(
    (e) => !KNOWN_SCHEMA_DEVIATIONS[`${method} ${template}`]?.test(e),
  );
  expect(errors, `${method} ${path}`).toEqual([]);
  // api-shapes.md: optional fields are omitted, never null (except the documented tokens: null).
  const nulls: string[] = [];
  const walk = (v: unknown, at: string): void => {
    if (v === null) nulls.push(at);
    else if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${at}[${i}]`));
    else if (typeof v === 'object') for (const [k, x] of Object.entries(v as object)) walk(x, `${at}.${k}`);
  };
  if (body.data !== null) walk(body.data, 'data');
  expect(
    nulls.filter((n) => !/^data\[\d+\]\.tokens$/.test(n)),
    `${method} ${path}`,
  ).toEqual([]);
  return { data: body.data, total: body.total, raw: body };
}

describe('every simulator response conforms to pve-api-schema-9.1.json', () => {
  it('cluster endpoints', async () => {
    await call('GET', '/version');
    const status = (await call('GET', '/cluster/status')).data as any[];
    expect(status.filter((s) => s.type === 'cluster')).toHaveLength(1);
    for (const type of ['', '?type=vm', '?type=node', '?type=storage', '?type=sdn']) {
      const items = (await call('GET', `/cluster/resources${type}`)).data as any[];
      for (const r of items) {
        // api-shapes.md id formats per type
        const idRe = {
          qemu: /^qemu\/\d+$/,
          lxc: /^lxc\/\d+$/,
          node: /^node\/[\w-]+$/,
          storage: /^storage\/[\w-]+\/[\w-]+$/,
          pool: /^\/pool\/[\w/-]+$/,
          sdn: /^sdn\/[\w-]+\/[\w-]+$/,
        }[r.type as string];
        expect(r.id).toMatch(idRe as RegExp);
        if (r.type === 'qemu' || r.type === 'lxc') expect([0, 1]).toContain(r.template);
        if (r.type === 'storage') expect([0, 1]).toContain(r.shared);
      }
      if (type === '') expect(items.some((r) => r.type === 'pool')).toBe(true);
      else expect(items.some((r) => r.type === 'pool')).toBe(false);
    }
    const tasks = (await call('GET', '/cluster/tasks')).data as any[];
    for (const t of tasks) {
      // The schema declares only `upid`; api-shapes.md gives the real item.
      expect(
        Object.keys(t).every((k) =>
          ['upid', 'node', 'pid', 'starttime', 'type', 'id', 'user', 'tokenid', 'saved', 'endtime', 'status'].includes(
            k,
          ),
        ),
      ).toBe(true);
      expect(t).not.toHaveProperty('pstart');
      if (t.endtime === undefined) expect(t.pid).toBeTypeOf('number');
      else expect(t).not.toHaveProperty('pid');
      expect(['0', '1']).toContain(t.saved);
    }
    const log = (await call('GET', '/cluster/log?max=20')).data as any[];
    expect(log).toHaveLength(20);
    for (const e of log) {
      expect(Object.keys(e).sort()).toEqual(['id', 'msg', 'node', 'pid', 'pri', 'tag', 'time', 'uid', 'user']);
      expect(e.id).toBe(`${e.uid}:${e.node}`);
    }
  });

  it('node endpoints', async () => {
    const nodes = (await call('GET', '/nodes')).data as any[];
    expect(nodes.map((n) => n.node)).toEqual(['pve-a1', 'pve-a2', 'pve-a3']);
    const t = await call('GET', '/nodes/pve-a1/tasks?source=all&limit=5');
    expect(t.total).toBeTypeOf('number');
    const first = (t.data as any[])[0];
    await call('GET', `/nodes/pve-a1/tasks/${encodeURIComponent(first.upid)}`);
    await call('GET', `/nodes/pve-a1/tasks/${encodeURIComponent(first.upid)}/status`);
    const log = await call('GET', `/nodes/pve-a1/tasks/${encodeURIComponent(first.upid)}/log`);
    expect(log.total).toBeTypeOf('number');
    await call('GET', '/nodes/pve-a1/journal?lastentries=5');
    const time = (await call('GET', '/nodes/pve-a1/time')).data as {
      timezone: string;
      time: number;
      localtime: number;
    };
    expect(time.localtime - time.time).toBe(0); // pve-a1 runs UTC
    const sys = await call('GET', '/nodes/pve-a1/syslog?limit=5');
    expect(sys.total).toBeTypeOf('number');
    for (const type of ['qemu', 'lxc'] as const) {
      const list = (await call('GET', `/nodes/pve-a1/${type}`)).data as any[];
      await call('GET', `/nodes/pve-a1/${type}?full=1`.replace('lxc?full=1', 'lxc'));
      const g = list[0];
      expect(g, `a ${type} guest on pve-a1`).toBeDefined();
      await call('GET', `/nodes/pve-a1/${type}/${g.vmid}/status/current`);
    }
  });

  it('power actions, task deletion', async () => {
    const guests = [...alpha.state.guests.values()].filter((g) => !g.template);
    for (const type of ['qemu', 'lxc'] as const) {
      const g = guests.find((x) => x.type === type);
      expect(g).toBeDefined();
      const node = g?.node as string;
      const actions =
        type === 'qemu'
          ? ['start', 'stop', 'shutdown', 'reboot', 'reset', 'suspend', 'resume']
          : ['start', 'stop', 'shutdown', 'reboot', 'suspend', 'resume'];
      for (const action of actions) {
        const upid = (await call('POST', `/nodes/${node}/${type}/${g?.vmid}/status/${action}`)).data as string;
        expect(upid.startsWith(`UPID:${node}:`)).toBe(true);
        if (action === 'reset') await call('DELETE', `/nodes/${node}/tasks/${encodeURIComponent(upid)}`);
      }
    }
    clock.advance(10_000);
  });

  it('access endpoints', async () => {
    await call('GET', '/access/domains');
    await call('GET', '/access/users');
    const full = (await call('GET', '/access/users?full=1')).data as any[];
    expect(full.find((u) => u.userid === 'carol@pve').tokens).toBeNull();
    expect(typeof full.find((u) => u.userid === 'alice@pve').groups).toBe('string');
    await call('GET', '/access/users/alice@pve');
    await call('GET', '/access/users/alice@pve/token');
    await call('GET', '/access/users/alice@pve/token/ci');
    const created = (await call('POST', '/access/users/bob@pve/token/newtoken', { privsep: 1, comment: 'x' }))
      .data as any;
    expect(created['full-tokenid']).toBe('bob@pve!newtoken');
    await call('PUT', '/access/users/bob@pve/token/newtoken', { comment: 'changed' });
    await call('DELETE', '/access/users/bob@pve/token/newtoken');
    await call('GET', '/access/groups');
    await call('GET', '/access/groups/acme-admins');
    await call('GET', '/access/roles');
    await call('GET', '/access/roles/PVEAuditor');
    await call('GET', '/access/acl');
    await call('PUT', '/access/acl', { path: '/vms/101', roles: 'PVEVMUser', users: 'bob@pve' });
    await call('GET', '/access/permissions');
    await call('GET', '/access/permissions?userid=alice@pve&path=/pool/acme');
    await call('GET', '/access/ticket');
    const ticket = await request(alpha.url, '/api2/json/access/ticket', {
      method: 'POST',
      form: { username: 'alice@pve', password: alpha.passwords['alice@pve'] as string },
    });
    expect(ticket.status).toBe(200);
    exercised.add('POST /access/ticket');
    expect(checkValue(methodInfo('/access/ticket', 'POST')?.returns, ticket.json().data)).toEqual([]);
  });

  it('pool endpoints', async () => {
    await call('GET', '/pools');
    const one = (await call('GET', '/pools?poolid=acme')).data as any[];
    expect(one).toHaveLength(1);
    await call('GET', '/pools/acme');
    await call('POST', '/pools', { poolid: 'newpool', comment: 'n' });
    await call('PUT', '/pools', { poolid: 'newpool', vms: '101', 'allow-move': 1 });
    await call('PUT', '/pools/newpool', { vms: '101', delete: 1 });
    await call('DELETE', '/pools?poolid=newpool');
    await call('POST', '/pools', { poolid: 'newpool2' });
    await call('DELETE', '/pools/newpool2');
  });

  it('exercised every handler the simulator has', () => {
    const missing = Object.keys(handlers).filter((k) => !exercised.has(k));
    expect(missing).toEqual([]);
  });
});
