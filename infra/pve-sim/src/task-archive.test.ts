// Regression (issue 4.3): finished tasks went straight into the archive. PVE keeps a task that nobody reaped
// in the node's `active` file (`<UPID> 0`) until the archiver (RESTEnvironment::active_workers, run by
// pvestatd every cycle, by fork_worker, and by a reaping daemon) saves it; until then the node task API
// lists it with saved "0" and status RUNNING, /cluster/tasks still shows it as running, and only the
// task's /status (pid gone) says it stopped.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from './clock.ts';
import { startSimulator, type SimCluster, type Simulator } from './simulator.ts';
import { request, tokenHeader } from './testing/request.ts';

const INTERVAL_S = 7;
const NODE = 'pve-a2';
const clock = new ManualClock(Date.UTC(2026, 10, 24, 9, 0, 0));
let sim: Simulator;
let c: SimCluster;

async function get<T = any>(path: string): Promise<T> {
  const res = await request(c.url, `/api2/json${path}`, { headers: tokenHeader(c.rootTokenString) });
  expect(res.status).toBe(200);
  return res.json<{ data: T }>().data;
}
const nodeTasks = (source: string): Promise<any[]> => get(`/nodes/${NODE}/tasks?source=${source}&limit=500`);
const ofUpid = (list: any[], upid: string): any[] => list.filter((t) => t.upid === upid);

beforeAll(async () => {
  sim = await startSimulator({ scenario: 'demo', seed: 11, clock, taskArchiveIntervalS: INTERVAL_S });
  c = sim.cluster('alpha');
});
afterAll(() => sim.stop());

describe('finished tasks stay in the active list until the archiver runs (regression: archived at once)', () => {
  it('an unreaped task: RUNNING/saved "0" in source=active|all and /cluster/tasks, stopped in /status, then archived', async () => {
    const upid = c.addTask({
      node: NODE,
      type: 'vzdump',
      id: '201',
      user: 'root@pam',
      running: true,
      durationS: 3,
      status: 'WARNINGS: 2',
      reaped: false,
    });
    const startS = Math.floor(clock.now() / 1000);
    clock.advance(3_000); // the task has ended just now; no archiver run can have happened since

    const active = ofUpid(await nodeTasks('active'), upid);
    expect(active).toHaveLength(1);
    expect(active[0]).toMatchObject({
      saved: '0',
      status: 'RUNNING',
      pstart: expect.any(Number),
      pid: expect.any(Number),
    });
    expect(active[0]).not.toHaveProperty('endtime');
    expect(ofUpid(await nodeTasks('archive'), upid)).toEqual([]);
    expect(ofUpid(await nodeTasks('all'), upid)).toEqual(active);
    // `statusfilter` sees no status yet (unknown), exactly like a running task
    expect(ofUpid(await get(`/nodes/${NODE}/tasks?source=all&statusfilter=warning&limit=500`), upid)).toEqual([]);
    expect(ofUpid(await get(`/nodes/${NODE}/tasks?source=all&statusfilter=unknown&limit=500`), upid)).toHaveLength(1);

    const broadcast = ofUpid(await get('/cluster/tasks'), upid);
    expect(broadcast).toHaveLength(1);
    expect(broadcast[0]).toMatchObject({ saved: '0', pid: expect.any(Number) });
    expect(broadcast[0]).not.toHaveProperty('status');
    expect(broadcast[0]).not.toHaveProperty('endtime');

    const enc = encodeURIComponent(upid);
    expect(await get(`/nodes/${NODE}/tasks/${enc}/status`)).toMatchObject({
      status: 'stopped',
      exitstatus: 'WARNINGS: 2',
    });
    const log = await get<{ t: string }[]>(`/nodes/${NODE}/tasks/${enc}/log?limit=0`);
    expect(log.at(-1)?.t).toBe('TASK WARNINGS: 2');

    clock.advance(INTERVAL_S * 1000); // at least one archiver run of the node falls into this interval
    expect(ofUpid(await nodeTasks('active'), upid)).toEqual([]);
    const archived = ofUpid(await nodeTasks('all'), upid);
    expect(archived).toHaveLength(1);
    expect(archived[0]).toMatchObject({ status: 'WARNINGS: 2', endtime: startS + 3 });
    expect(archived[0]).not.toHaveProperty('saved');
    const after = ofUpid(await get('/cluster/tasks'), upid);
    expect(after[0]).toMatchObject({ saved: '1', status: 'WARNINGS: 2', endtime: startS + 3 });
    expect(after[0]).not.toHaveProperty('pid');
  });

  it('the archiver runs at the period of the node, not per task: it saves what ended before the run', async () => {
    const n = c.state.node(NODE);
    // the first run at least 2 s from now
    const run = c.state.lastArchiverRunMs(n, clock.now() + 2_000 + INTERVAL_S * 1000);
    clock.advance(run - 1_500 - clock.now());
    const a = c.addTask({ node: NODE, type: 'vzdump', id: '202', user: 'root@pam', running: true, reaped: false });
    c.finishTask(a, 'OK');
    clock.advance(1_000); // 0.5 s before the run
    expect(ofUpid(await nodeTasks('active'), a)).toHaveLength(1);
    clock.advance(1_000); // 0.5 s after it
    expect(ofUpid(await nodeTasks('active'), a)).toEqual([]);
    expect(ofUpid(await nodeTasks('archive'), a)).toHaveLength(1);
  });

  it('a task started on the node runs the archiver (fork_worker), other nodes keep theirs', async () => {
    const here = c.addTask({ node: NODE, type: 'vzdump', id: '203', user: 'root@pam', running: true, reaped: false });
    const there = c.addTask({
      node: 'pve-a3',
      type: 'vzdump',
      id: '204',
      user: 'root@pam',
      running: true,
      reaped: false,
    });
    c.finishTask(here, 'OK');
    c.finishTask(there, 'OK');
    expect(ofUpid(await nodeTasks('active'), here)).toHaveLength(1);
    const next = c.addTask({ node: NODE, type: 'aptupdate', user: 'root@pam', running: true });
    expect(ofUpid(await nodeTasks('active'), here)).toEqual([]);
    expect(ofUpid(await nodeTasks('archive'), here)).toHaveLength(1);
    expect(ofUpid(await get('/nodes/pve-a3/tasks?source=active'), there)).toHaveLength(1);
    c.finishTask(next, 'OK');
  });

  it('reaped tasks (API power actions, scripted finishes) are archived at once, saving unreaped ones too', async () => {
    const stale = c.addTask({ node: NODE, type: 'vzdump', id: '205', user: 'root@pam', running: true, reaped: false });
    const reaped = c.addTask({ node: NODE, type: 'vzcreate', id: '206', user: 'root@pam', running: true });
    c.finishTask(stale, 'OK');
    c.finishTask(reaped, 'OK');
    const archive = await nodeTasks('archive');
    expect(ofUpid(archive, reaped)).toHaveLength(1);
    expect(ofUpid(archive, stale)).toHaveLength(1);
    expect((await nodeTasks('active')).filter((t) => t.upid === stale || t.upid === reaped)).toEqual([]);

    const g = [...c.state.guests.values()].find(
      (x) => x.node === NODE && x.type === 'qemu' && x.status === 'stopped' && !x.template && !x.hastate,
    );
    expect(g).toBeDefined();
    const res = await request(c.url, `/api2/json/nodes/${NODE}/qemu/${g?.vmid}/status/start`, {
      method: 'POST',
      headers: tokenHeader(c.rootTokenString),
    });
    const upid = res.json<{ data: string }>().data;
    clock.advance(2_000); // powerTaskDurationS defaults to 2
    expect(ofUpid(await nodeTasks('active'), upid)).toEqual([]);
    expect(ofUpid(await nodeTasks('archive'), upid)[0]).toMatchObject({ status: 'OK' });
  });

  it('the control API finishes a task unreaped on request', async () => {
    const ctl = (path: string, body: unknown) =>
      request(c.url, `/_sim${path}`, {
        method: 'POST',
        headers: { ...tokenHeader(c.rootTokenString), 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
      });
    const { upid } = (
      await ctl('/tasks', { node: NODE, type: 'vzdump', id: '207', user: 'root@pam', running: true })
    ).json().data as { upid: string };
    expect((await ctl('/tasks/finish', { upid, status: 'OK', reaped: 'no' })).status).toBe(400);
    expect((await ctl('/tasks/finish', { upid, status: 'OK', reaped: false })).status).toBe(200);
    expect(ofUpid(await nodeTasks('active'), upid)[0]).toMatchObject({ saved: '0', status: 'RUNNING' });
    const state = (await request(c.url, '/_sim/state', { headers: tokenHeader(c.rootTokenString) })).json().data;
    expect(state.endedUnarchivedTasks).toBeGreaterThanOrEqual(1);
  });
});

describe('taskArchiveIntervalS: 0', () => {
  let instant: Simulator;
  beforeAll(async () => {
    instant = await startSimulator({ scenario: 'demo', seed: 11, clock, taskArchiveIntervalS: 0 });
  });
  afterAll(() => instant.stop());

  it('archives even unreaped tasks the moment they end', async () => {
    const b = instant.cluster('beta');
    const upid = b.addTask({
      node: 'pve-b1',
      type: 'vzdump',
      id: '200',
      user: 'root@pam',
      running: true,
      reaped: false,
    });
    b.finishTask(upid, 'OK');
    const list = (
      await request(b.url, '/api2/json/nodes/pve-b1/tasks?source=all&limit=5', {
        headers: tokenHeader(b.rootTokenString),
      })
    ).json().data as any[];
    expect(ofUpid(list, upid)).toEqual([expect.objectContaining({ status: 'OK' })]);
    expect(ofUpid(list, upid)[0]).not.toHaveProperty('saved');
  });
});
