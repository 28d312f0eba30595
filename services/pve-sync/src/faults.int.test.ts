// Every simulator fault knob: a clear per-connection error, nothing written by the failing
// sources (no partial write, cursors unchanged), health recorded, and a clean recovery.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { SimCluster } from '@tenantgate/pve-sim';
import { readSyncHealth } from './health.ts';
import { createHarness, type Harness } from './test-harness.ts';

let h: Harness;
let alpha: SimCluster;

beforeAll(async () => {
  h = await createHarness('faults');
  alpha = h.sim.cluster('alpha');
});
afterEach(() => alpha.faults.clear());
afterAll(async () => {
  await h?.close();
});

/** Everything a poll may write, except health bookkeeping (the `connection` row and sync.* events). */
async function dataState(conn: string): Promise<string> {
  const [row] = await h.query<{ s: string }>(
    `SELECT concat_ws('|',
       (SELECT string_agg(dedup_key, ',' ORDER BY dedup_key) FROM audit_inbox WHERE connection_id = $1 AND source <> 'sync'),
       (SELECT string_agg(source || '=' || cursor::text, ',' ORDER BY source) FROM sync_cursor WHERE connection_id = $1 AND source <> 'connection'),
       (SELECT string_agg(vmid || node || status || coalesce(pool, '-') || coalesce(deleted_at::text, '-'), ',' ORDER BY vmid) FROM guest WHERE connection_id = $1),
       (SELECT string_agg(upid || outcome, ',' ORDER BY upid) FROM pve_task WHERE connection_id = $1),
       (SELECT string_agg(node || status, ',' ORDER BY node) FROM pve_node WHERE connection_id = $1),
       (SELECT string_agg(kind || digest, ',' ORDER BY kind) FROM pve_access_snapshot WHERE connection_id = $1)) AS s`,
    [conn],
  );
  return row!.s;
}

/** A connection with a completed first poll, plus a pending change a successful poll would write. */
let ipCounter = 10;
let lastIp = '';
async function readyConnection(over: Parameters<Harness['connect']>[1] = {}): Promise<string> {
  const conn = await h.connect(alpha, over);
  const first = await h.poller().poll(conn);
  expect(first.failures).toEqual([]);
  alpha.addTask({ node: 'pve-a1', type: 'qmstart', id: '100', user: 'root@pam' });
  lastIp = `192.0.2.${ipCounter++}`;
  alpha.addAuthFailure('bob@pve', lastIp);
  return conn;
}

const cases: Array<{
  knob: string;
  set: () => void | Promise<unknown>;
  code: string;
  client?: { timeoutMs?: number; maxResponseBytes?: number };
}> = [
  { knob: 'http5xxRate (500)', set: () => alpha.faults.set({ http5xxRate: 1 }), code: 'PVE_HTTP_ERROR' },
  {
    knob: 'http5xxStatus 596 (node unreachable behind pveproxy)',
    set: () => alpha.faults.set({ http5xxRate: 1, http5xxStatus: 596 }),
    code: 'PVE_HTTP_ERROR',
  },
  { knob: 'resetRate', set: () => alpha.faults.set({ resetRate: 1 }), code: 'PVE_UNREACHABLE' },
  { knob: 'truncateJson', set: () => alpha.faults.set({ truncateJson: true }), code: 'PVE_RESPONSE_INVALID' },
  { knob: 'invalidJson', set: () => alpha.faults.set({ invalidJson: true }), code: 'PVE_RESPONSE_INVALID' },
  // A proxy's HTML error page comes with HTTP 502: an HTTP error, its body is never parsed as data.
  { knob: 'htmlErrorPage', set: () => alpha.faults.set({ htmlErrorPage: true }), code: 'PVE_HTTP_ERROR' },
  { knob: 'wrongFieldTypes', set: () => alpha.faults.set({ wrongFieldTypes: true }), code: 'PVE_RESPONSE_INVALID' },
  {
    knob: 'hugeResponse',
    set: () => alpha.faults.set({ hugeResponseBytes: 2 * 1024 * 1024 }),
    code: 'PVE_RESPONSE_INVALID',
    client: { maxResponseBytes: 1024 * 1024 },
  },
  {
    knob: 'latencyMs (beyond the client timeout)',
    set: () => alpha.faults.set({ latencyMs: 2_000 }),
    code: 'PVE_UNREACHABLE',
    client: { timeoutMs: 300 },
  },
  {
    knob: 'rotateCertificate (pinned fingerprint no longer matches)',
    set: () => alpha.faults.rotateCertificate(),
    code: 'PVE_TLS_FINGERPRINT_MISMATCH',
  },
];

describe('fault knobs', () => {
  for (const c of cases) {
    it(`${c.knob}: a clear per-connection error and no partial write`, async () => {
      const conn = await readyConnection();
      const before = await dataState(conn);
      await c.set();
      const poller = h.poller(c.client ? { client: c.client } : {});
      const r = await poller.poll(conn);
      expect(r.status === 'failed' || r.status === 'partial').toBe(true);
      expect(r.failures.length).toBeGreaterThan(0);
      expect(r.failures.map((f) => f.code)).toContain(c.code);
      // Every message names the connection and the endpoint.
      for (const f of r.failures) expect(f.message.length).toBeGreaterThan(0);
      expect(await dataState(conn)).toBe(before);

      const [health] = await readSyncHealth(h.orm.em.fork(), { connectionId: conn });
      expect(health).toMatchObject({ healthy: false, consecutiveFailures: 1 });
      expect(health!.lastErrorCode).toBe(r.failures[0]!.code);
      const unhealthy = await h.query(
        `SELECT 1 FROM audit_inbox WHERE connection_id = $1 AND event->>'action' = 'sync.unreachable'`,
        [conn],
      );
      expect(unhealthy).toHaveLength(1);

      if (c.knob.startsWith('rotateCertificate'))
        await h.query(`UPDATE pve_connection SET fingerprint = $2 WHERE id = $1`, [conn, alpha.fingerprint]);
      alpha.faults.clear();
      const ok = await h.poller().poll(conn);
      expect(ok.failures).toEqual([]);
      expect(await dataState(conn)).not.toBe(before);
      const recovered = await h.query(
        `SELECT 1 FROM audit_inbox WHERE connection_id = $1 AND event->>'action' = 'sync.recovered'`,
        [conn],
      );
      expect(recovered).toHaveLength(1);
    });
  }

  it('a fault on one endpoint fails only that source; the others commit', async () => {
    const conn = await readyConnection();
    alpha.faults.set({ invalidJson: true, pathPrefix: '/nodes/pve-a1/tasks' });
    const r = await h.poller().poll(conn);
    expect(r.status).toBe('partial');
    expect(r.failures.map((f) => [f.source, f.code])).toEqual([['tasks:pve-a1', 'PVE_RESPONSE_INVALID']]);
    // The journal of pve-a1 still delivered the login failure.
    expect(
      await h.query(`SELECT 1 FROM audit_inbox WHERE connection_id = $1 AND event->>'srcIp' = $2`, [conn, lastIp]),
    ).toHaveLength(1);
    const [health] = await readSyncHealth(h.orm.em.fork(), { connectionId: conn });
    expect(health!.sources.find((s) => s.source === 'tasks:pve-a1')).toMatchObject({
      lastErrorCode: 'PVE_RESPONSE_INVALID',
      consecutiveFailures: 1,
    });
    expect(health!.sources.find((s) => s.source === 'tasks:pve-a2')).toMatchObject({
      lastErrorCode: null,
      consecutiveFailures: 0,
    });
  });

  it('a rejected token is an authentication error; repeated failures raise the signal once', async () => {
    const conn = await h.connect(alpha, { secret: '00000000-0000-0000-0000-000000000000' });
    const r1 = await h.poller().poll(conn);
    const r2 = await h.poller().poll(conn);
    expect(r1.status).toBe('failed');
    expect(r1.failures.map((f) => f.code)).toEqual(['PVE_AUTH_FAILED']);
    expect(r2.failures.map((f) => f.code)).toEqual(['PVE_AUTH_FAILED']);
    expect(await h.query(`SELECT 1 FROM audit_inbox WHERE connection_id = $1`, [conn])).toHaveLength(1);
    const [health] = await readSyncHealth(h.orm.em.fork(), { connectionId: conn });
    expect(health).toMatchObject({ healthy: false, consecutiveFailures: 2, lastErrorCode: 'PVE_AUTH_FAILED' });
  });

  it('a secret sealed with another key is reported, not crashed on', async () => {
    const conn = await h.connect(alpha);
    await h.query(`UPDATE pve_connection SET secret_enc = decode(repeat('00', 40), 'hex') WHERE id = $1`, [conn]);
    const r = await h.poller().poll(conn);
    expect(r.failures.map((f) => f.code)).toEqual(['SYNC_CONNECTION_INVALID']);
  });

  it('a database failure inside the commit advances nothing (fail closed), and the next poll catches up', async () => {
    const conn = await h.connect(alpha);
    expect((await h.poller().poll(conn)).failures).toEqual([]);
    const upid = alpha.addTask({ node: 'pve-a2', type: 'vzdump', id: '101', user: 'root@pam', status: 'OK' });
    const cursor = async (): Promise<unknown> =>
      (await h.query(`SELECT cursor FROM sync_cursor WHERE connection_id = $1 AND source = 'tasks:pve-a2'`, [conn]))[0];
    const inboxCount = async (): Promise<number> =>
      (await h.query(`SELECT 1 FROM audit_inbox WHERE connection_id = $1`, [conn])).length;
    const cursorBefore = await cursor();
    const inboxBefore = await inboxCount();
    await h.query(
      `CREATE FUNCTION inbox_down() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'inbox unavailable'; END $$`,
    );
    await h.query(`CREATE TRIGGER inbox_down BEFORE INSERT ON audit_inbox FOR EACH ROW EXECUTE FUNCTION inbox_down()`);
    try {
      const r = await h.poller().poll(conn);
      expect(r.failures.map((f) => f.source)).toContain('tasks:pve-a2');
      for (const f of r.failures) expect(f.message).toContain('inbox unavailable');
      // The task row and the cursor did not move without their inbox rows.
      expect(await cursor()).toEqual(cursorBefore);
      expect(await h.query(`SELECT 1 FROM pve_task WHERE upid = $1`, [upid])).toHaveLength(0);
      expect(await inboxCount()).toBe(inboxBefore);
    } finally {
      await h.query(`DROP TRIGGER inbox_down ON audit_inbox`);
      await h.query(`DROP FUNCTION inbox_down()`);
    }
    const ok = await h.poller().poll(conn);
    expect(ok.failures).toEqual([]);
    expect(await h.query(`SELECT 1 FROM audit_inbox WHERE dedup_key = $1`, [`${conn}|${upid}:finished`])).toHaveLength(
      1,
    );
    expect(await cursor()).not.toEqual(cursorBefore);
  });
});
