// End-to-end behaviour of one connection's poll against the real simulator, real PostgreSQL and
// real Redis: what lands in the inventory tables and the audit inbox, and that replays never
// duplicate.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditSourceEvent, jobId } from '@tenantgate/shared';
import type { SimCluster } from '@tenantgate/pve-sim';
import { createHarness, type Harness } from './test-harness.ts';

let h: Harness;
let alpha: SimCluster;
let conn: string;

type InboxRow = { dedup_key: string; event: AuditSourceEvent };
const inbox = async (where = 'true', params: unknown[] = []): Promise<InboxRow[]> =>
  await h.query<InboxRow>(
    `SELECT dedup_key, event FROM audit_inbox WHERE ${where} ORDER BY observed_at, dedup_key`,
    params,
  );
const count = async (table: string): Promise<number> =>
  Number((await h.query<{ n: string }>(`SELECT count(*) AS n FROM ${table} WHERE connection_id = $1`, [conn]))[0]?.n);

beforeAll(async () => {
  h = await createHarness('sync');
  alpha = h.sim.cluster('alpha');
  conn = await h.connect(alpha);
});
afterAll(async () => {
  await h?.close();
});

describe('first poll of a connection', () => {
  it('mirrors nodes, guests and the complete task history, and writes source events to the inbox', async () => {
    const r = await h.poller().poll(conn);
    expect(r.failures).toEqual([]);
    expect(r.status).toBe('ok');
    expect(await count('pve_node')).toBe(3);
    expect(await count('guest')).toBe(alpha.state.guests.size);
    // Every task of every node (history + running), not just the recent ones /cluster/tasks shows.
    const simTasks = [...alpha.state.nodes.values()].reduce(
      (n, node) => n + node.tasks.archivedCount + node.tasks.running.size,
      0,
    );
    expect(await count('pve_task')).toBe(simTasks);
    const rows = await inbox();
    expect(rows.length).toBe(r.inserted);
    for (const row of rows) expect(AuditSourceEvent.safeParse(row.event).success).toBe(true);
    const actions = new Set(rows.map((x) => x.event.action));
    expect(actions).toContain('inventory.baseline');
    expect([...actions].some((a) => a.startsWith('task.'))).toBe(true);
    expect([...actions].some((a) => a.endsWith('.observed'))).toBe(true);
    // Each source cursor advanced with the rows.
    const sources = (
      await h.query<{ source: string }>(`SELECT source FROM sync_cursor WHERE connection_id = $1`, [conn])
    ).map((s) => s.source);
    expect(sources).toEqual(
      expect.arrayContaining(['inventory', 'cluster-log', 'access', 'connection', 'tasks:pve-a1', 'journal:pve-a1']),
    );
  });

  it('enqueues the auditor wake-up with a deterministic job id', async () => {
    const jobs = await h.wakeups.getJobs(['waiting', 'delayed', 'prioritized']);
    expect(jobs.length).toBeGreaterThan(0);
    for (const j of jobs) {
      expect(j.id).toMatch(/^j-wake-/);
      expect(j.id).not.toContain(':');
      expect(j.data).toMatchObject({ connectionId: conn });
    }
    expect(jobs.map((j) => j.id)).toContain(jobId('wake', conn, jobs[0]!.id!.split('-').at(-1)!));
  });

  it('a poll with nothing new writes no inbox rows', async () => {
    const before = (await inbox()).length;
    const r = await h.poller().poll(conn);
    expect(r.failures).toEqual([]);
    expect(r.inserted).toBe(0);
    expect((await inbox()).length).toBe(before);
  });

  it('replaying every source from scratch (all cursors lost) never duplicates an event', async () => {
    const before = (await inbox()).length;
    await h.query(`DELETE FROM sync_cursor WHERE connection_id = $1`, [conn]);
    await h.query(`DELETE FROM pve_task WHERE connection_id = $1`, [conn]);
    await h.query(`DELETE FROM pve_access_snapshot WHERE connection_id = $1`, [conn]);
    const r = await h.poller().poll(conn);
    expect(r.failures).toEqual([]);
    expect(r.inserted).toBe(0);
    expect((await inbox()).length).toBe(before);
  });
});

describe('tasks', () => {
  it('reports a started task, then its failure with the PVE status text, the token actor and the guest', async () => {
    const guest = [...alpha.state.guests.values()].find((g) => g.node === 'pve-a2')!;
    const upid = alpha.addTask({
      node: 'pve-a2',
      type: 'vzdump',
      id: String(guest.vmid),
      user: 'pvesync@pve',
      tokenid: 'sync',
      running: true,
    });
    await h.poller().poll(conn);
    const started = await inbox(`event->>'upid' = $1`, [upid]);
    expect(started.map((x) => x.dedup_key)).toEqual([`${conn}|${upid}:started`]);
    expect(started[0]!.event).toMatchObject({ action: 'task.vzdump', outcome: 'unknown', guest: { vmid: guest.vmid } });
    expect((await h.query(`SELECT outcome FROM pve_task WHERE upid = $1`, [upid]))[0]).toEqual({ outcome: 'running' });

    alpha.finishTask(upid, "unable to create temporary directory '/mnt/pve/backup/dump' - No space left on device");
    await h.poller().poll(conn);
    const finished = await inbox(`dedup_key = $1`, [`${conn}|${upid}:finished`]);
    expect(finished[0]!.event).toMatchObject({
      action: 'task.vzdump',
      outcome: 'failure',
      upid,
      actor: { type: 'pve-token', id: 'pvesync@pve!sync', principal: 'pvesync@pve!sync' },
      guest: { vmid: guest.vmid },
      payload: {
        phase: 'finished',
        status: "unable to create temporary directory '/mnt/pve/backup/dump' - No space left on device",
      },
    });
    expect(
      (await h.query(`SELECT outcome, status IS NOT NULL AS has_status FROM pve_task WHERE upid = $1`, [upid]))[0],
    ).toEqual({
      outcome: 'error',
      has_status: true,
    });
  });

  it('follows a running task that fell behind the watermark until it ends', async () => {
    const old = alpha.addTask({
      node: 'pve-a3',
      type: 'qmigrate',
      id: '101',
      user: 'root@pam',
      running: true,
      starttime: alpha.state.nowS() - 3 * 3600,
    });
    const poller = h.poller({ settings: { TASK_OVERLAP_S: 0 } });
    // First seen through a full read (new cursor): the task is older than the watermark.
    await h.query(`DELETE FROM sync_cursor WHERE connection_id = $1 AND source = 'tasks:pve-a3'`, [conn]);
    await poller.poll(conn);
    expect((await h.query(`SELECT outcome FROM pve_task WHERE upid = $1`, [old]))[0]).toEqual({ outcome: 'running' });
    alpha.finishTask(old, 'OK');
    await poller.poll(conn);
    const finished = await inbox(`dedup_key = $1`, [`${conn}|${old}:finished`]);
    expect(finished).toHaveLength(1);
    expect(finished[0]!.event.outcome).toBe('success');
  });

  it('attributes a task started from the portal to the portal user (correlated)', async () => {
    const [tenant] = await h.query<{ id: string }>(
      `INSERT INTO tenant (slug, name) VALUES ('acme', 'Acme') RETURNING id`,
    );
    const [user] = await h.query<{ id: string }>(`INSERT INTO portal_user (username) VALUES ('carol') RETURNING id`);
    const upid = alpha.addTask({ node: 'pve-a1', type: 'qmstart', id: '100', user: 'pvesync@pve', tokenid: 'sync' });
    const requestId = '6f0f2c1e-8a4b-4c1d-9e2f-3a4b5c6d7e8f';
    await h.query(
      `INSERT INTO portal_action (request_id, user_id, tenant_id, connection_id, vmid, action, upid) VALUES ($1, $2, $3, $4, 100, 'start', $5)`,
      [requestId, user!.id, tenant!.id, conn, upid],
    );
    await h.poller().poll(conn);
    const rows = await inbox(`event->>'upid' = $1`, [upid]);
    expect(rows).toHaveLength(1);
    for (const r of rows) {
      expect(r.event).toMatchObject({
        detection: 'correlated',
        requestId,
        actor: { type: 'portal-user', id: user!.id, principal: 'pvesync@pve!sync' },
      });
    }
    expect((await h.query(`SELECT portal_user_id FROM pve_task WHERE upid = $1`, [upid]))[0]).toEqual({
      portal_user_id: user!.id,
    });
  });
});

describe('inventory diff', () => {
  it('reports created, deleted, pool-moved and state-changed guests', async () => {
    const [g1, g2, g3] = [...alpha.state.guests.values()].filter(
      (g) => g.status === 'running' || g.status === 'stopped',
    );
    const created = alpha.createGuest({ node: 'pve-a1', name: 'fresh', pool: 'acme' });
    alpha.destroyGuest(g1!.vmid);
    const poolBefore = alpha.state.access.poolOfVm(g2!.vmid)?.poolid ?? null;
    const target = poolBefore === 'globex' ? 'initech' : 'globex';
    alpha.moveGuestToPool(g2!.vmid, target);
    alpha.setGuestStatus(g3!.vmid, g3!.status === 'running' ? 'stopped' : 'running');
    await h.poller().poll(conn);
    const ev = (await inbox(`event->>'source' = 'pve.inventory'`)).map((x) => x.event);
    expect(ev.find((e) => e.action === 'guest.created' && e.guest?.vmid === created.vmid)?.guest).toMatchObject({
      pool: 'acme',
    });
    expect(ev.find((e) => e.action === 'guest.deleted' && e.guest?.vmid === g1!.vmid)).toBeTruthy();
    expect(ev.find((e) => e.action === 'guest.moved_pool' && e.guest?.vmid === g2!.vmid)?.guest).toEqual({
      vmid: g2!.vmid,
      pool: target,
      previousPool: poolBefore,
    });
    expect(ev.find((e) => e.action === 'guest.state_changed' && e.guest?.vmid === g3!.vmid)).toBeTruthy();
    expect(
      (
        await h.query(`SELECT deleted_at IS NOT NULL AS gone FROM guest WHERE connection_id = $1 AND vmid = $2`, [
          conn,
          g1!.vmid,
        ])
      )[0],
    ).toEqual({
      gone: true,
    });
    // The destroy task is reported too (VM-001 correlates the two).
    expect(
      (await inbox(`event->>'action' = 'task.qmdestroy' OR event->>'action' = 'task.vzdestroy'`)).length,
    ).toBeGreaterThan(0);
  });
});

describe('logins, cluster log and access configuration', () => {
  it('reports a failed login with its source IP, and a successful login once (journal and cluster log agree)', async () => {
    const failedQ = `event->>'action' = 'auth.login_failed' AND event->>'srcIp' = '192.0.2.99'`;
    const okQ = `event->>'action' = 'auth.login_succeeded' AND event->'actor'->>'id' = 'frank@pve'`;
    expect(await inbox(failedQ)).toHaveLength(0);
    const okBefore = (await inbox(okQ)).length;
    alpha.addAuthFailure('bob@pve', '192.0.2.99');
    alpha.addLogin('frank@pve', '198.51.100.4');
    await h.poller().poll(conn);
    const failed = (await inbox(failedQ)).map((x) => x.event);
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ source: 'pve.journal', outcome: 'failure', actor: { id: 'bob@pve' } });
    expect(await inbox(okQ)).toHaveLength(okBefore + 1);
  });

  it('turns ACL and token changes into diff events with hygiene findings', async () => {
    alpha.grantAcl('/', 'bob@pve', 'Administrator', 1);
    alpha.addToken('dave@pve', 'automation', { privsep: 0 });
    await h.poller().poll(conn);
    const acl = (await inbox(`event->>'action' = 'acl.granted'`)).map((x) => x.event);
    expect(acl).toHaveLength(1);
    expect(acl[0]).toMatchObject({ detection: 'diff', target: { type: 'acl', path: '/' } });
    expect(acl[0]!.payload.findings).toEqual(['ADMIN_ON_ROOT']);
    const token = (await inbox(`event->>'action' = 'token.created'`)).map((x) => x.event);
    expect(token[0]).toMatchObject({ target: { id: 'dave@pve!automation' } });
    expect(token[0]!.payload.findings).toEqual(['TOKEN_NO_EXPIRY', 'TOKEN_PRIVSEP_OFF']);
  });

  it('raises a sync gap (SYNC-001) when the cluster log ring buffer turned over between polls', async () => {
    alpha.addLogin('alice@pve', '198.51.100.4');
    alpha.faults.wrapClusterLog();
    await h.poller().poll(conn);
    const gaps = (await inbox(`event->>'action' = 'sync.gap_detected'`)).map((x) => x.event);
    expect(gaps.length).toBeGreaterThan(0);
    expect(gaps[0]).toMatchObject({
      source: 'sync',
      outcome: 'failure',
      payload: { rule: 'SYNC-001', source: 'cluster-log' },
    });
  });
});
