// HTTP behaviour of the simulator as PVE shows it on the wire: auth, errors, paging and filters,
// journal cursors, tickets + CSRF, permissions, power-action tasks, fault knobs, control API.
import { connect as tlsConnect } from 'node:tls';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from './clock.ts';
import { startSimulator, type Simulator, type SimCluster } from './simulator.ts';
import { request, tokenHeader } from './testing/request.ts';
import { decodeUpid } from './upid.ts';

let sim: Simulator;
let c: SimCluster;
const clock = new ManualClock(Date.UTC(2026, 10, 23, 12, 0, 0));
const api = (path: string, opts: Parameters<typeof request>[2] = {}) =>
  request(c.url, `/api2/json${path}`, { headers: tokenHeader(c.rootTokenString), ...opts });
const as = (token: string, path: string, opts: Parameters<typeof request>[2] = {}) =>
  request(c.url, `/api2/json${path}`, { ...opts, headers: { ...tokenHeader(token), ...opts.headers } });

beforeAll(async () => {
  sim = await startSimulator({ scenario: 'demo', seed: 5, clock, powerTaskDurationS: 4 });
  c = sim.cluster('alpha');
});
afterAll(() => sim.stop());

describe('authentication', () => {
  it('401 without credentials: reason "No ticket", no body, no journal line', async () => {
    const before = c.state.localNode.journal.entries.length;
    const res = await request(c.url, '/api2/json/version');
    expect([res.status, res.reason, res.text]).toEqual([401, 'No ticket', '']);
    expect(c.state.localNode.journal.entries.length).toBe(before);
  });

  it('401 "Authentication failed!" for a wrong token secret, logged by pveproxy without IP or user', async () => {
    const res = await as(`${c.syncToken.tokenId}=00000000-0000-4000-8000-000000000000`, '/version');
    expect([res.status, res.reason, res.text]).toEqual([401, 'Authentication failed!', '']);
    const last = c.state.localNode.journal.entries.at(-1);
    expect(last?.ident).toBe('pveproxy');
    expect(last?.msg).toBe('authentication failure: invalid token value!');
  });

  it('rejects unknown, expired and disabled-owner tokens', async () => {
    expect((await as('root@pam!nope=x', '/version')).status).toBe(401);
    const t = c.addToken('bob@pve', 'shortlived', { expire: Math.floor(clock.now() / 1000) - 1 });
    expect((await as(`${t.tokenId}=${t.secret}`, '/version')).status).toBe(401);
    const carolToken = c.addToken('carol@pve', 'old');
    expect((await as(`${carolToken.tokenId}=${carolToken.secret}`, '/version')).reason).toBe('Authentication failed!');
    expect(c.state.localNode.journal.entries.at(-1)?.msg).toBe("authentication failure: user 'carol@pve' is disabled");
  });

  it('ticket login, cookie auth, CSRF for writes, failed login body and journal line', async () => {
    const bad = await request(c.url, '/api2/json/access/ticket', {
      method: 'POST',
      form: { username: 'alice@pve', password: 'wrong' },
      headers: { 'X-Forwarded-For': '198.51.100.77' },
    });
    expect([bad.status, bad.reason]).toEqual([401, 'authentication failure']);
    expect(bad.json()).toEqual({ data: null, message: 'authentication failure\n' });
    expect(c.state.localNode.journal.entries.at(-1)?.msg).toBe(
      'authentication failure; rhost=::ffff:198.51.100.77 user=alice@pve msg=invalid credentials',
    );

    const ok = await request(c.url, '/api2/json/access/ticket', {
      method: 'POST',
      form: { username: 'alice', realm: 'pve', password: c.passwords['alice@pve'] as string },
    });
    expect(ok.status).toBe(200);
    const { ticket, CSRFPreventionToken, username } = ok.json().data;
    expect(username).toBe('alice@pve');
    expect(ticket).toMatch(/^PVE:alice@pve:[0-9A-F]{8}::\S+$/);
    expect(CSRFPreventionToken).toMatch(/^[0-9A-F]{8}:\S+$/);
    const log = (await api('/cluster/log?max=5')).json().data as any[];
    expect(
      log.some(
        (e) => e.msg === "successful auth for user 'alice@pve'" && e.user === 'root@pam' && e.tag === 'pvedaemon',
      ),
    ).toBe(true);

    const cookie = { Cookie: `PVEAuthCookie=${encodeURIComponent(ticket)}` };
    const res = await request(c.url, '/api2/json/cluster/resources?type=vm', { headers: cookie });
    expect(res.status).toBe(200);
    const acme = c.state.access.pools.get('acme')?.vms;
    const vm = (res.json().data as any[]).find((g) => acme?.has(g.vmid) && g.type === 'qemu');
    const path = `/api2/json/nodes/${vm.node}/qemu/${vm.vmid}/status/start`;
    const noCsrf = await request(c.url, path, { method: 'POST', headers: cookie });
    expect([noCsrf.status, noCsrf.reason, noCsrf.text]).toEqual([401, 'Permission denied - invalid csrf token', '']);
    const withCsrf = await request(c.url, path, { method: 'POST', headers: { ...cookie, CSRFPreventionToken } });
    expect(withCsrf.status).toBe(200);
    expect(decodeUpid(withCsrf.json().data)?.user).toBe('alice@pve');
    // A ticket in the Authorization header works too; a tampered one does not.
    expect(
      (await request(c.url, '/api2/json/version', { headers: { Authorization: `PVEAuthCookie=${ticket}` } })).status,
    ).toBe(200);
    expect(
      (
        await request(c.url, '/api2/json/version', {
          headers: { Cookie: `PVEAuthCookie=${ticket.replace('alice', 'admin')}` },
        })
      ).reason,
    ).toBe('Authentication failed!');
    // Tickets expire after 2 h.
    clock.advance(7201_000);
    expect((await request(c.url, '/api2/json/version', { headers: cookie })).status).toBe(401);
  });
});

describe('errors', () => {
  it('403 with PVE message and reason phrase', async () => {
    const res = await as(c.syncTokenString, '/nodes/pve-a1/qemu/100/status/start', { method: 'POST' });
    expect(res.status).toBe(403);
    expect(res.reason).toBe('Permission check failed (/vms/100, VM.PowerMgmt)');
    expect(res.json()).toEqual({ data: null, message: 'Permission check failed (/vms/100, VM.PowerMgmt)\n' });
  });

  it('400 parameter verification with per-parameter errors', async () => {
    const res = await api('/nodes/pve-a1/tasks?limit=-1&source=everything&bogus=1&vmid=abc');
    expect([res.status, res.reason]).toEqual([400, 'Parameter verification failed.']);
    expect(res.json()).toEqual({
      data: null,
      message: 'Parameter verification failed.\n',
      errors: {
        limit: 'value must have a minimum value of 0',
        source: "value 'everything' does not have a value in the enumeration 'archive, active, all'",
        bogus: 'property is not defined in schema and the schema does not allow additional properties',
        vmid: "type check ('integer') failed - got 'abc'",
      },
    });
    const upid = await api('/nodes/pve-a1/tasks/not-a-upid/status');
    expect(upid.json().errors).toEqual({ upid: 'unable to parse worker upid' });
  });

  it('500 for unknown objects, 501 for unknown methods', async () => {
    const pool = await api('/pools?poolid=nosuchpool');
    expect([pool.status, pool.json().message]).toEqual([500, "pool 'nosuchpool' does not exist\n"]);
    const user = await api('/access/users/nobody@pve');
    expect(user.reason).toBe("no such user ('nobody@pve')");
    const none = await api('/nodes/pve-a1/frobnicate');
    expect(none.status).toBe(501);
    expect(none.json().message).toBe("Method 'GET /nodes/pve-a1/frobnicate' not implemented\n");
  });

  it('refuses API tokens on endpoints not marked allowtoken', async () => {
    // POST /access/ticket is the only such endpoint in the extract; it needs no auth, so a token is ignored there.
    const res = await as(c.rootTokenString, '/access/ticket', {
      method: 'POST',
      form: { username: 'root@pam', password: 'x' },
    });
    expect(res.status).toBe(401);
  });
});

describe('permissions (PVE access-control engine)', () => {
  it('the sync token (PVEAuditor + Sys.Syslog on /, privsep) sees everything read-only', async () => {
    const root = (await api('/cluster/tasks')).json().data;
    expect((await as(c.syncTokenString, '/cluster/tasks')).json().data).toEqual(root);
    expect((await as(c.syncTokenString, '/cluster/resources')).json().data.length).toBe(
      (await api('/cluster/resources')).json().data.length,
    );
    expect((await as(c.syncTokenString, '/nodes/pve-a1/journal?lastentries=1')).status).toBe(200);
  });

  it('a token without Sys.Audit sees no cluster tasks, only its pool, and no node usage', async () => {
    const ci = c.addToken('alice@pve', 'perm-test');
    c.grantAcl('/pool/acme', ci.tokenId, 'PVEVMUser');
    const tok = `${ci.tokenId}=${ci.secret}`;
    expect((await as(tok, '/cluster/tasks')).json().data).toEqual([]);
    const res = (await as(tok, '/cluster/resources')).json().data as any[];
    const guests = res.filter((r) => r.type === 'qemu' || r.type === 'lxc');
    expect(guests.length).toBeGreaterThan(0);
    expect(guests.every((g) => c.state.access.pools.get('acme')?.vms.has(g.vmid))).toBe(true);
    expect(guests.every((g) => g.pool === undefined)).toBe(true); // no Pool.Audit
    expect(res.filter((r) => r.type === 'node').every((n) => n.cpu === undefined && n.maxmem === undefined)).toBe(true);
    expect((await as(tok, '/cluster/status')).reason).toBe('Permission check failed (/, Sys.Audit)');
    expect((await as(tok, '/nodes/pve-a1/journal')).status).toBe(403);
    const own = (await as(tok, '/cluster/log?max=1000')).json().data as any[];
    expect(own.every((e) => e.user === ci.tokenId)).toBe(true);
  });
});

describe('node tasks: paging and every filter', () => {
  const all = async (q = ''): Promise<any[]> => (await api(`/nodes/pve-a2/tasks?limit=100000${q}`)).json().data;

  it('pages with start/limit and reports the total of all matches', async () => {
    const full = await all('&source=all');
    const pages: any[] = [];
    for (let start = 0; start < full.length; start += 37) {
      const res = (await api(`/nodes/pve-a2/tasks?source=all&start=${start}&limit=37`)).json();
      expect(res.total).toBe(full.length);
      pages.push(...res.data);
    }
    expect(pages).toEqual(full);
    expect((await api('/nodes/pve-a2/tasks')).json().data).toHaveLength(50);
  });

  it('orders active first, then the archive newest-finished first', async () => {
    const list = await all('&source=all');
    const firstFinished = list.findIndex((t) => t.status !== 'RUNNING');
    expect(list.slice(0, firstFinished).every((t) => t.status === 'RUNNING' && t.saved === '0')).toBe(true);
    const ends = list.slice(firstFinished).map((t) => t.endtime);
    expect(ends).toEqual([...ends].sort((a, b) => b - a));
    expect((await all('&source=active')).every((t) => t.status === 'RUNNING')).toBe(true);
    expect((await all()).every((t) => t.status !== 'RUNNING')).toBe(true);
  });

  it('since/until, userfilter, typefilter, vmid, statusfilter, errors', async () => {
    const full = await all('&source=all');
    const mid = full[Math.floor(full.length / 2)].starttime;
    expect(await all(`&source=all&since=${mid}`)).toEqual(full.filter((t) => t.starttime >= mid));
    expect(await all(`&source=all&until=${mid}`)).toEqual(full.filter((t) => t.starttime <= mid));
    expect(await all('&source=all&userfilter=PVESYNC')).toEqual(
      full.filter((t) => t.user.toLowerCase().includes('pvesync')),
    );
    expect(await all('&source=all&typefilter=vzdump')).toEqual(full.filter((t) => t.type === 'vzdump'));
    const vmid = full.find((t) => /^\d+$/.test(t.id)).id;
    expect(await all(`&source=all&vmid=${vmid}`)).toEqual(full.filter((t) => t.id === vmid));
    const norm = (s: string | undefined) =>
      s === 'RUNNING' || !s ? 'unknown' : s === 'OK' ? 'ok' : /^WARNINGS: \d+$/.test(s) ? 'warning' : 'error';
    expect(await all('&source=all&statusfilter=error,warning')).toEqual(
      full.filter((t) => ['error', 'warning'].includes(norm(t.status))),
    );
    expect(await all('&source=all&statusfilter=ok')).toEqual(full.filter((t) => norm(t.status) === 'ok'));
    const errs = await all('&source=all&errors=1&statusfilter=ok');
    expect(errs).toEqual(full.filter((t) => norm(t.status) !== 'ok'));
    expect(errs.some((t) => t.type === 'vzdump' && norm(t.status) === 'error')).toBe(true);
  });

  it("token tasks carry tokenid; a user without Sys.Audit sees only its own and its tokens' tasks", async () => {
    const t1 = c.addTask({ node: 'pve-a2', type: 'qmstart', id: '101', user: 'frank@pve', tokenid: 'monitoring' });
    const t2 = c.addTask({ node: 'pve-a2', type: 'qmstop', id: '101', user: 'frank@pve' });
    const list = await all('&userfilter=frank');
    expect(list.find((t) => t.upid === t1)).toMatchObject({ user: 'frank@pve', tokenid: 'monitoring' });
    expect(list.find((t) => t.upid === t2)).not.toHaveProperty('tokenid');
    const u = c.addToken('frank@pve', 'tasks', { privsep: 0 });
    const mine = (await as(`${u.tokenId}=${u.secret}`, '/nodes/pve-a2/tasks?limit=1000')).json().data as any[];
    // frank has no Sys.Audit on /nodes/pve-a2 and the privsep=0 token acts as frank… but a token sees only its own tasks.
    expect(mine).toEqual([]);
  });
});

describe('power actions create tasks that run, then finish', () => {
  it('qemu start: UPID, running status, then stopped/OK, guest running, log and cluster log', async () => {
    const g = [...c.state.guests.values()].find(
      (x) => x.type === 'qemu' && x.status === 'stopped' && !x.template && !x.hastate,
    );
    expect(g).toBeDefined();
    const res = await api(`/nodes/${g?.node}/qemu/${g?.vmid}/status/start`, { method: 'POST' });
    const upid = res.json().data as string;
    const f = decodeUpid(upid);
    expect(f).toMatchObject({ node: g?.node, type: 'qmstart', id: String(g?.vmid), user: 'root@pam!tenantgate' });
    const enc = encodeURIComponent(upid);
    const st1 = (await api(`/nodes/${g?.node}/tasks/${enc}/status`)).json().data;
    expect(st1).toMatchObject({ status: 'running', upid, tokenid: 'tenantgate', user: 'root@pam' });
    expect(st1).not.toHaveProperty('exitstatus');
    expect((await api(`/nodes/${g?.node}/qemu/${g?.vmid}/status/current`)).json().data.status).toBe('stopped');
    const active = (await api(`/nodes/${g?.node}/tasks?source=active`)).json().data as any[];
    expect(active.some((t) => t.upid === upid && t.status === 'RUNNING')).toBe(true);
    clock.advance(5_000);
    const st2 = (await api(`/nodes/${g?.node}/tasks/${enc}/status`)).json().data;
    expect(st2).toMatchObject({ status: 'stopped', exitstatus: 'OK' });
    expect((await api(`/nodes/${g?.node}/qemu/${g?.vmid}/status/current`)).json().data).toMatchObject({
      status: 'running',
      qmpstatus: 'running',
    });
    const log = (await api(`/nodes/${g?.node}/tasks/${enc}/log`)).json();
    expect(log.data.at(-1)).toEqual({ n: log.total, t: 'TASK OK' });
    const archive = (await api(`/nodes/${g?.node}/tasks?limit=5`)).json().data as any[];
    expect(archive[0]).toMatchObject({ upid, status: 'OK', endtime: f!.starttime + 4 });
    const clog = (await api('/cluster/log?max=50')).json().data as any[];
    expect(clog.some((e) => e.msg === `starting task ${upid}` && e.user === 'root@pam!tenantgate')).toBe(true);
    expect(clog.some((e) => e.msg === `end task ${upid} OK`)).toBe(true);
    // suspend → paused; shutdown of a stopped guest fails with PVE's error text
    const sus = (await api(`/nodes/${g?.node}/qemu/${g?.vmid}/status/suspend`, { method: 'POST' })).json()
      .data as string;
    expect(decodeUpid(sus)?.type).toBe('qmpause');
    clock.advance(5_000);
    expect((await api(`/nodes/${g?.node}/qemu/${g?.vmid}/status/current`)).json().data.qmpstatus).toBe('paused');
    await api(`/nodes/${g?.node}/qemu/${g?.vmid}/status/stop`, { method: 'POST' });
    clock.advance(5_000);
    const again = (await api(`/nodes/${g?.node}/qemu/${g?.vmid}/status/shutdown`, { method: 'POST' })).json()
      .data as string;
    clock.advance(5_000);
    expect((await api(`/nodes/${g?.node}/tasks/${encodeURIComponent(again)}/status`)).json().data.exitstatus).toBe(
      `VM ${g?.vmid} not running`,
    );
  });

  it('a template cannot be started; a guest on another node is not found', async () => {
    const tpl = [...c.state.guests.values()].find((x) => x.template === 1);
    const res = await api(`/nodes/${tpl?.node}/qemu/${tpl?.vmid}/status/start`, { method: 'POST' });
    expect(res.json().message).toBe("you can't start a vm if it's a template\n");
    const other = (await api(`/nodes/pve-a3/qemu/${tpl?.vmid}/status/current`)).json();
    if (tpl?.node !== 'pve-a3')
      expect(other.message).toBe(`Configuration file 'nodes/pve-a3/qemu-server/${tpl?.vmid}.conf' does not exist\n`);
  });
});

describe('journal cursor protocol (mini-journalreader)', () => {
  it('lastentries, startcursor with and without new entries, endcursor', async () => {
    const last3 = (await api('/nodes/pve-a1/journal?lastentries=3')).json().data as string[];
    expect(last3).toHaveLength(5);
    expect(last3[0]).toMatch(/^s=[0-9a-f]{32};i=[0-9a-f]+;b=[0-9a-f]{32};m=[0-9a-f]+;t=[0-9a-f]+;x=[0-9a-f]+$/);
    const end = last3.at(-1) as string;
    expect((await api(`/nodes/pve-a1/journal?startcursor=${encodeURIComponent(end)}`)).json().data).toEqual([end, end]);
    c.addAuthFailure('root@pam', '203.0.113.50');
    const next = (await api(`/nodes/pve-a1/journal?startcursor=${encodeURIComponent(end)}`)).json().data as string[];
    expect(next).toHaveLength(3);
    expect(next[0]).toBe(end);
    expect(next[1]).toMatch(
      /pvedaemon\[\d+\]: authentication failure; rhost=::ffff:203\.0\.113\.50 user=root@pam msg=Authentication failure$/,
    );
    const before = (
      await api(`/nodes/pve-a1/journal?lastentries=2&endcursor=${encodeURIComponent(next[2] as string)}`)
    ).json().data as string[];
    expect(before.slice(1, -1)).toEqual(last3.slice(2, 4));
    const bad = await api('/nodes/pve-a1/journal?startcursor=garbage');
    expect(bad.status).toBe(500);
  });

  it('syslog pages with start/limit and total', async () => {
    const p1 = (await api('/nodes/pve-a1/syslog?start=0&limit=10')).json();
    const p2 = (await api('/nodes/pve-a1/syslog?start=10&limit=10')).json();
    expect(p1.total).toBe(p2.total);
    expect(p2.data[0].n).toBe(11);
    const none = (await api('/nodes/pve-a1/syslog?service=nosuchunit')).json();
    expect(none).toEqual({ data: [{ n: 1, t: 'no content' }], total: 1 });
  });
});

describe('fault knobs (what goes on the wire)', () => {
  afterEach(() => c.faults.clear());

  it('http5xx, html page, reset, latency', async () => {
    c.faults.set({ http5xxRate: 1, pathPrefix: '/cluster' });
    const e = await api('/cluster/resources');
    expect([e.status, e.json()]).toEqual([500, { data: null, message: 'Internal Server Error\n' }]);
    expect((await api('/version')).status).toBe(200);
    c.faults.set({ http5xxStatus: 596 });
    expect((await api('/cluster/resources')).reason).toBe('Connection timed out');
    c.faults.clear();
    c.faults.set({ htmlErrorPage: true });
    const h = await api('/version');
    expect([h.status, h.headers['content-type']]).toEqual([502, 'text/html']);
    expect(h.text).toContain('<title>502 Bad Gateway</title>');
    c.faults.clear();
    c.faults.set({ resetRate: 1 });
    await expect(api('/version')).rejects.toMatchObject({ code: 'ECONNRESET', syscall: 'read' });
    c.faults.clear();
    c.faults.set({ latencyMs: 5_000 });
    await expect(
      request(c.url, '/api2/json/version', {
        headers: tokenHeader(c.rootTokenString),
        signal: AbortSignal.timeout(200),
      }),
    ).rejects.toThrow();
    c.faults.clear();
    expect((await api('/version')).status).toBe(200);
  });

  // Regression (issue 4.1): the knob called resetAndDestroy() on the TLS socket, which throws "This handle type
  // cannot be sent", so clients got an HTTP 500 instead of a reset; a plain destroy() would close with a FIN.
  it('resetRate: a TCP reset (ECONNRESET on read), not a 500 and not a clean close; no HTTP byte arrives', async () => {
    c.faults.set({ resetRate: 1, pathPrefix: '/version' });
    const url = new URL(c.url);
    const outcome = await new Promise<{ bytes: number; error?: NodeJS.ErrnoException }>((resolve) => {
      let bytes = 0;
      let error: NodeJS.ErrnoException | undefined;
      const socket = tlsConnect({ host: url.hostname, port: Number(url.port), rejectUnauthorized: false }, () => {
        socket.write(
          `GET /api2/json/version HTTP/1.1\r\nHost: ${url.host}\r\nAuthorization: PVEAPIToken=${c.rootTokenString}\r\n\r\n`,
        );
      });
      socket.on('data', (chunk: Buffer) => (bytes += chunk.length));
      socket.on('error', (err) => (error = err));
      socket.on('close', () => resolve(error ? { bytes, error } : { bytes }));
    });
    expect(outcome.bytes).toBe(0);
    expect(outcome.error).toMatchObject({ code: 'ECONNRESET', syscall: 'read' });
    // the listener survives the reset and other paths are unaffected
    expect((await api('/nodes')).status).toBe(200);
  });

  it('truncated and invalid JSON, wrong field types, huge responses', async () => {
    const good = (await api('/nodes')).text;
    c.faults.set({ truncateJson: true });
    const t = await api('/nodes');
    expect(t.status).toBe(200);
    expect(good.startsWith(t.text) && t.text.length < good.length).toBe(true);
    expect(() => JSON.parse(t.text)).toThrow();
    c.faults.clear();
    c.faults.set({ invalidJson: true });
    const invalid = (await api('/nodes')).text;
    expect(() => JSON.parse(invalid)).toThrow();
    c.faults.clear();
    c.faults.set({ wrongFieldTypes: true });
    const w = (await api('/cluster/resources?type=vm')).json().data as any[];
    expect(typeof w[0].vmid).toBe('string');
    expect(typeof w[0].name).toBe('number');
    c.faults.clear();
    c.faults.set({ hugeResponse: 8 * 1024 * 1024 });
    const big = await api('/cluster/resources');
    expect(big.text.length).toBeGreaterThanOrEqual(8 * 1024 * 1024);
    expect(big.wireBytes).toBeLessThan(big.text.length); // gzip, as PVE compresses > 1 KiB
    c.faults.clear();
  });

  it('certificate change and cluster-log ring-buffer wrap', async () => {
    const before = c.fingerprint;
    expect((await api('/version')).fingerprint).toBe(before);
    const after = await c.faults.rotateCertificate();
    expect(after).not.toBe(before);
    expect(c.fingerprint).toBe(after);
    const res = await api('/version');
    expect(res.fingerprint).toBe(after);
    expect(((await api('/nodes')).json().data as any[])[0].ssl_fingerprint).toBe(after);

    const newest = ((await api('/cluster/log?max=1')).json().data as any[])[0];
    c.faults.wrapClusterLog();
    const log = (await api('/cluster/log?max=100000')).json().data as any[];
    expect(log.some((e) => e.id === newest.id && e.msg === newest.msg)).toBe(false);
    expect(log.length).toBeGreaterThan(100);
  });
});

describe('/_sim control API', () => {
  it('needs the root token and performs scripted changes', async () => {
    expect((await request(c.url, '/_sim/state')).status).toBe(401);
    const ctl = (method: string, path: string, body?: unknown) =>
      request(c.url, `/_sim${path}`, {
        method,
        headers: { ...tokenHeader(c.rootTokenString), 'Content-Type': 'application/json' },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
    const task = (
      await ctl('POST', '/tasks', { node: 'pve-a3', type: 'vzdump', id: '105', user: 'root@pam', running: true })
    ).json().data;
    expect(decodeUpid(task.upid)?.node).toBe('pve-a3');
    expect((await ctl('POST', '/tasks/finish', { upid: task.upid, status: 'job failed' })).status).toBe(200);
    const st = (await api(`/nodes/pve-a3/tasks/${encodeURIComponent(task.upid)}/status`)).json().data;
    expect(st.exitstatus).toBe('job failed');
    expect((await ctl('POST', '/faults', { http5xxRate: 1, pathPrefix: '/version' })).status).toBe(200);
    expect((await api('/version')).status).toBe(500);
    expect((await ctl('DELETE', '/faults')).status).toBe(200);
    expect((await ctl('POST', '/faults', { nonsense: 1 })).status).toBe(400);
    const created = (
      await ctl('POST', '/guests', { node: 'pve-a1', type: 'lxc', pool: 'globex', name: 'ct-new' })
    ).json().data;
    const res = (await api('/cluster/resources?type=vm')).json().data as any[];
    expect(res.find((r) => r.vmid === created.vmid)).toMatchObject({ type: 'lxc', pool: 'globex', name: 'ct-new' });
    expect((await ctl('POST', `/guests/${created.vmid}/pool`, { pool: null })).status).toBe(200);
    expect((await api('/pools?poolid=globex')).json().data[0].members.some((m: any) => m.vmid === created.vmid)).toBe(
      false,
    );
    const destroyed = (await ctl('DELETE', `/guests/${created.vmid}`, { by: 'bob@pve' })).json().data;
    expect(decodeUpid(destroyed.upid)).toMatchObject({ type: 'vzdestroy', user: 'bob@pve' });
    expect((await ctl('POST', '/acl', { path: '/vms/100', member: 'bob@pve', roleid: 'Administrator' })).status).toBe(
      200,
    );
    expect(
      ((await api('/access/acl')).json().data as any[]).some(
        (e) => e.path === '/vms/100' && e.ugid === 'bob@pve' && e.roleid === 'Administrator',
      ),
    ).toBe(true);
    const tok = (await ctl('POST', '/tokens', { userid: 'bob@pve', name: 'viaCtl', privsep: false })).json().data;
    expect((await as(`${tok.tokenId}=${tok.secret}`, '/version')).status).toBe(200);
    expect((await ctl('POST', '/clock/advance', { ms: 1000 })).status).toBe(200);
  });
});
