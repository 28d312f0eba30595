// The client against the PVE simulator (infra/pve-sim): every client method, then every fault knob.
import { startSimulator, type SimCluster, type Simulator } from '@tenantgate/pve-sim';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  isUpid,
  normaliseTaskStatus,
  parseUpid,
  PveClient,
  PveError,
  PveHttpError,
  PveResponseInvalidError,
  PveTlsFingerprintMismatchError,
  PveUnreachableError,
  type PveClientOptions,
} from './index.ts';

let sim: Simulator;
let alpha: SimCluster;
const clients: PveClient[] = [];

function client(overrides: Partial<PveClientOptions> = {}): PveClient {
  const c = new PveClient({
    connectionName: 'alpha',
    baseUrl: alpha.url,
    fingerprint: alpha.fingerprint,
    auth: { kind: 'token', ...alpha.rootToken },
    timeoutMs: 5_000,
    retries: 0,
    retryBaseDelayMs: 1,
    ...overrides,
  });
  clients.push(c);
  return c;
}

async function failure(promise: Promise<unknown>): Promise<PveError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(PveError);
    return err as PveError;
  }
  throw new Error('expected the call to fail');
}

beforeAll(async () => {
  sim = await startSimulator({ scenario: 'demo', seed: 1 });
  alpha = sim.cluster('alpha');
});

afterEach(async () => {
  alpha.faults.clear();
  await Promise.all(clients.splice(0).map((c) => c.close()));
});

afterAll(async () => {
  await sim?.stop();
});

describe('every client method against the simulator', () => {
  it('reads version, cluster status, resources, nodes', async () => {
    const c = client();
    expect((await c.version()).release).toMatch(/^\d+\.\d+$/);
    const status = await c.clusterStatus();
    expect(
      status
        .filter((s) => s.type === 'node')
        .map((s) => s.name)
        .sort(),
    ).toEqual(['pve-a1', 'pve-a2', 'pve-a3']);
    const resources = await c.clusterResources();
    const guests = resources.filter((r) => r.type === 'qemu' || r.type === 'lxc');
    expect(guests).toHaveLength(18);
    expect(guests.every((g) => 'raw' in g && typeof g.raw === 'object')).toBe(true);
    expect(resources.some((r) => r.type === 'pool')).toBe(true);
    const vms = await c.clusterResources('vm');
    expect(vms.every((r) => r.type === 'qemu' || r.type === 'lxc')).toBe(true);
    expect((await c.clusterResources('node')).map((r) => r.type)).toEqual(['node', 'node', 'node']);
    expect((await c.clusterResources('storage')).every((r) => r.type === 'storage')).toBe(true);
    await c.clusterResources('sdn');
    const nodes = await c.nodes();
    expect(nodes.map((n) => n.node).sort()).toEqual(['pve-a1', 'pve-a2', 'pve-a3']);
  });

  it('reads tasks: cluster tasks, paged node tasks, status and log', async () => {
    const c = client();
    const clusterTasks = await c.clusterTasks();
    expect(clusterTasks.length).toBeGreaterThan(0);
    expect(clusterTasks.every((t) => isUpid(t.upid))).toBe(true);
    const page1 = await c.nodeTasks('pve-a1', { source: 'all', start: 0, limit: 20 });
    expect(page1.data).toHaveLength(20);
    expect(page1.total).toBeGreaterThan(20);
    const page2 = await c.nodeTasks('pve-a1', { source: 'all', start: 20, limit: 20 });
    expect(page2.data[0]!.upid).not.toBe(page1.data[0]!.upid);
    const finished = page1.data.find((t) => t.endtime !== undefined)!;
    expect(parseUpid(finished.upid).node).toBe('pve-a1');
    const status = await c.taskStatus('pve-a1', finished.upid);
    expect(status.status).toBe('stopped');
    expect(normaliseTaskStatus(status.exitstatus)).not.toBe('running');
    const log = await c.taskLog('pve-a1', finished.upid, { start: 0, limit: 0 });
    expect(log.total).toBe(log.lines.length);
    expect(log.lines.at(-1)!.t).toMatch(/^TASK (OK|WARNINGS: \d+|ERROR: )/);
  });

  it('reads logs: cluster log, journal with cursors, syslog', async () => {
    const c = client();
    const clog = await c.clusterLog(20);
    expect(clog.length).toBeGreaterThan(0);
    expect(clog.every((e) => e.id === `${e.uid}:${e.node}`)).toBe(true);
    const journal = await c.journal('pve-a1', { lastentries: 10 });
    expect(journal.startCursor).not.toBe('');
    expect(journal.endCursor).not.toBe('');
    const next = await c.journal('pve-a1', { startcursor: journal.endCursor });
    expect(Array.isArray(next.lines)).toBe(true);
    const syslog = await c.syslog('pve-a1', { limit: 5 });
    expect(syslog.lines.length).toBeGreaterThan(0);
    expect(syslog.total).toBeGreaterThanOrEqual(syslog.lines.length);
  });

  it('reads access configuration', async () => {
    const c = client();
    const users = await c.users({ full: true });
    const alice = users.find((u) => u.userid === 'alice@pve')!;
    expect(alice.enable).toBe(true);
    expect(Array.isArray(alice.groups)).toBe(true);
    expect(Array.isArray(alice.tokens)).toBe(true);
    expect((await c.groups()).length).toBeGreaterThan(0);
    const roles = await c.roles();
    expect(roles.find((r) => r.roleid === 'Administrator')!.privs).toContain('Sys.Audit');
    expect((await c.acl()).every((e) => typeof e.propagate === 'boolean')).toBe(true);
    const perms = await c.permissions({ userid: 'alice@pve' });
    expect(typeof perms).toBe('object');
    const syncUser = alpha.syncToken.tokenId.split('!')[0]!;
    const tokens = await c.userTokens(syncUser);
    expect(tokens.map((t) => t.tokenid)).toContain(alpha.syncToken.tokenId.split('!')[1]);
    const pools = await c.pools();
    expect(pools.map((p) => p.poolid)).toEqual(expect.arrayContaining(['acme', 'globex', 'initech']));
    const acme = await c.pool('acme');
    expect(acme.poolid).toBe('acme');
    expect(acme.members.length).toBeGreaterThan(0);
    const missing = await failure(c.pool('no-such-pool'));
    expect(missing).toBeInstanceOf(PveHttpError);
  });

  it('lists guests, reads their status and runs a power action that returns a UPID', async () => {
    const c = client();
    const qemu = await c.qemuList('pve-a1');
    const lxc = await c.lxcList('pve-a1');
    expect(qemu.length + lxc.length).toBeGreaterThan(0);
    const guest = qemu[0]
      ? { type: 'qemu' as const, vmid: qemu[0].vmid }
      : { type: 'lxc' as const, vmid: lxc[0]!.vmid };
    const status = await c.guestStatus('pve-a1', guest.type, guest.vmid);
    expect(status.vmid).toBe(guest.vmid);
    const action = status.status === 'running' ? 'shutdown' : 'start';
    const upid = await c.powerAction('pve-a1', guest.type, guest.vmid, action);
    expect(parseUpid(upid)).toMatchObject({ node: 'pve-a1', id: String(guest.vmid) });
    const task = await c.taskStatus('pve-a1', upid);
    expect(task.upid).toBe(upid);
  });

  it('the sync token sees what its role allows', async () => {
    const c = client({ connectionName: 'alpha-sync', auth: { kind: 'token', ...alpha.syncToken } });
    expect((await c.clusterResources()).length).toBeGreaterThan(0);
    expect((await c.clusterLog(5)).length).toBeGreaterThan(0);
  });

  it('a wrong token secret is a PveAuthError', async () => {
    const err = await failure(
      client({ auth: { kind: 'token', tokenId: alpha.rootToken.tokenId, secret: 'wrong' } }).version(),
    );
    expect(err.code).toBe('PVE_AUTH_FAILED');
  });
});

describe('every fault knob', () => {
  it('latencyMs: slower than the timeout → timeout; within it → fine', async () => {
    alpha.faults.set({ latencyMs: 400 });
    const err = await failure(client({ timeoutMs: 150 }).version());
    expect((err as PveUnreachableError).reason).toBe('timeout');
    await expect(client({ timeoutMs: 5_000 }).version()).resolves.toBeTruthy();
  });

  it('http5xxRate: a GET is retried through injected 5xx; without retries it fails typed', async () => {
    alpha.faults.set({ http5xxRate: 1, http5xxStatus: 503 });
    const err = await failure(client({ retries: 2 }).version());
    expect(err).toBeInstanceOf(PveHttpError);
    expect((err as PveHttpError).status).toBe(503);
    alpha.faults.set({ http5xxRate: 0.5, http5xxStatus: 596 });
    const c = client({ retries: 12 });
    for (let i = 0; i < 5; i++) await expect(c.version()).resolves.toBeTruthy();
  });

  // Skipped: the simulator's reset knob calls `req.socket.resetAndDestroy()` on a TLS socket, which throws
  // ("This handle type cannot be sent"), so it answers HTTP 500 instead of resetting. Reset handling itself is
  // covered against the local HTTPS server in client.test.ts. Re-enable once infra/pve-sim resets for real.
  it('resetRate: resets are unreachable(reset) errors, retried on GET, never on POST', async () => {
    alpha.faults.set({ resetRate: 1 });
    const err = await failure(client({ retries: 1 }).nodes());
    expect(err).toBeInstanceOf(PveUnreachableError);
    const post = await failure(client({ retries: 5 }).powerAction('pve-a1', 'qemu', 100, 'start'));
    expect(post).toBeInstanceOf(PveUnreachableError);
    alpha.faults.set({ resetRate: 0.5 });
    const c = client({ retries: 12 });
    for (let i = 0; i < 5; i++) await expect(c.nodes()).resolves.toHaveLength(3);
  });

  it('truncateJson → PveResponseInvalidError(truncated)', async () => {
    alpha.faults.set({ truncateJson: true });
    const err = (await failure(client().clusterResources())) as PveResponseInvalidError;
    expect(err.problem).toBe('truncated');
    expect(err.message).toContain('[alpha: GET /cluster/resources]');
  });

  it('invalidJson → PveResponseInvalidError(not-json)', async () => {
    alpha.faults.set({ invalidJson: true });
    const err = (await failure(client().nodes())) as PveResponseInvalidError;
    expect(err).toBeInstanceOf(PveResponseInvalidError);
    expect(['not-json', 'truncated']).toContain(err.problem);
  });

  it('htmlErrorPage → a typed error, never a crash', async () => {
    alpha.faults.set({ htmlErrorPage: true });
    const err = await failure(client({ retries: 1 }).nodes());
    // a 502 HTML page from a proxy: an HTTP error whose message is the reason phrase / page, or an invalid response
    expect(err instanceof PveHttpError || err instanceof PveResponseInvalidError).toBe(true);
  });

  it('wrongFieldTypes → PveResponseInvalidError naming the field', async () => {
    alpha.faults.set({ wrongFieldTypes: true });
    const err = (await failure(client().clusterResources())) as PveResponseInvalidError;
    expect(err.problem).toBe('schema');
    expect(err.field).toMatch(/^data\[\d+\]\./);
  });

  it('hugeResponse → PveResponseInvalidError(too-large)', async () => {
    alpha.faults.set({ hugeResponse: 2_000_000 });
    const err = (await failure(client({ maxResponseBytes: 500_000 }).clusterResources())) as PveResponseInvalidError;
    expect(err.problem).toBe('too-large');
  });

  it('pathPrefix limits a fault to matching endpoints', async () => {
    alpha.faults.set({ invalidJson: true, pathPrefix: '/cluster/resources' });
    const c = client();
    await expect(c.version()).resolves.toBeTruthy();
    expect(await failure(c.clusterResources())).toBeInstanceOf(PveResponseInvalidError);
  });

  it('rotateCertificate → PveTlsFingerprintMismatchError for the old pin; the new pin works', async () => {
    // retries: the rotation drops the kept-alive connection, so the first try may see that reset; the retry
    // opens a new connection, meets the new certificate and stops (a mismatch is not retryable).
    const c = client({ retries: 2 });
    await c.version();
    const oldPin = alpha.fingerprint;
    const newPin = await alpha.faults.rotateCertificate();
    expect(newPin).not.toBe(oldPin);
    const err = (await failure(c.version())) as PveTlsFingerprintMismatchError;
    expect(err).toBeInstanceOf(PveTlsFingerprintMismatchError);
    expect(err.actual).toBe(newPin.toUpperCase());
    await expect(client({ fingerprint: newPin }).version()).resolves.toBeTruthy();
  });

  it('wrapClusterLog → the cluster log still parses (filler entries are valid entries)', async () => {
    alpha.faults.wrapClusterLog();
    const entries = await client().clusterLog(50);
    expect(entries.length).toBeGreaterThan(0);
  });
});
