// Portal-correlation race (issue #5): a poll that falls between PVE's answer to a portal power
// action and the gateway's portal_action UPID write. The order is the test's own: each step below
// is one of the gateway's writes, PVE's answer, or one poll.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditSourceEvent } from '@tenantgate/shared';
import type { SimCluster } from '@tenantgate/pve-sim';
import { createHarness, type Harness } from './test-harness.ts';

let h: Harness;
let alpha: SimCluster;
let conn: string;
let tenantId: string;
let userId: string;

const events = async (upid: string): Promise<AuditSourceEvent[]> =>
  (
    await h.query<{ event: AuditSourceEvent }>(
      `SELECT event FROM audit_inbox WHERE event->>'upid' = $1 ORDER BY dedup_key`,
      [upid],
    )
  ).map((r) => r.event);

/** The gateway's first write (power.ts): the intent, before PVE is called. */
async function recordIntent(vmid: number, action: string, createdAgoS = 0): Promise<string> {
  const requestId = randomUUID();
  await h.query(
    `INSERT INTO portal_action (request_id, user_id, tenant_id, connection_id, vmid, action, created_at)
     VALUES ($1, $2, $3, $4, $5, $6, now() - make_interval(secs => $7))`,
    [requestId, userId, tenantId, conn, vmid, action, createdAgoS],
  );
  return requestId;
}

/** PVE's side of the power action: the task, run by the connection's token. */
function pveStartsTask(vmid: number, type: string): string {
  const g = alpha.state.guest(vmid);
  const [user, tokenid] = alpha.syncToken.tokenId.split('!') as [string, string];
  return alpha.addTask({ node: g.node, type, id: String(vmid), user, tokenid, running: true });
}

beforeAll(async () => {
  h = await createHarness('portal_corr');
  alpha = h.sim.cluster('alpha');
  conn = await h.connect(alpha);
  const [t] = await h.query<{ id: string }>(`INSERT INTO tenant (slug, name) VALUES ('acme', 'Acme') RETURNING id`);
  const [u] = await h.query<{ id: string }>(`INSERT INTO portal_user (username) VALUES ('carol') RETURNING id`);
  tenantId = t!.id;
  userId = u!.id;
  expect((await h.poller().poll(conn)).failures).toEqual([]);
});
afterAll(async () => {
  await h?.close();
});

describe('portal correlation', () => {
  it('regression: a task polled before the gateway recorded its UPID is still attributed to the portal user', async () => {
    const vmid = [...alpha.state.guests.values()].find((g) => g.type === 'qemu' && !g.template)!.vmid;
    const requestId = await recordIntent(vmid, 'start');
    const upid = pveStartsTask(vmid, 'qmstart');

    // The poll in the race window: the task is listed, portal_action has no UPID yet.
    const inWindow = await h.poller().poll(conn);
    expect(inWindow.failures).toEqual([]);
    expect(await events(upid)).toEqual([]);
    expect(await h.query(`SELECT 1 FROM pve_task WHERE upid = $1`, [upid])).toEqual([]);

    // The gateway's second write, then the next poll.
    await h.query(`UPDATE portal_action SET upid = $1 WHERE request_id = $2`, [upid, requestId]);
    await h.poller().poll(conn);
    const started = await events(upid);
    expect(started).toHaveLength(1);
    expect(started[0]).toMatchObject({
      detection: 'correlated',
      requestId,
      actor: { type: 'portal-user', id: userId, principal: alpha.syncToken.tokenId },
      payload: { phase: 'started', portalTenantId: tenantId },
    });
    expect((await h.query(`SELECT portal_user_id FROM pve_task WHERE upid = $1`, [upid]))[0]).toEqual({
      portal_user_id: userId,
    });

    alpha.finishTask(upid, 'OK');
    await h.poller().poll(conn);
    expect((await events(upid)).map((e) => [e.payload.phase, e.actor.id])).toEqual([
      ['finished', userId],
      ['started', userId],
    ]);
  });

  it('regression: an intent the gateway never completed is matched by guest, action and time once it is stale', async () => {
    const vmid = [...alpha.state.guests.values()].filter((g) => g.type === 'qemu' && !g.template)[1]!.vmid;
    // The gateway died between PVE's answer and its UPID write, 10 minutes ago.
    const requestId = await recordIntent(vmid, 'stop', 600);
    const upid = pveStartsTask(vmid, 'qmstop');
    // A task on the same guest by another principal is not the portal's.
    const other = alpha.addTask({
      node: alpha.state.guest(vmid).node,
      type: 'qmstop',
      id: String(vmid),
      user: 'root@pam',
    });
    const r = await h.poller().poll(conn);
    expect(r.failures).toEqual([]);
    const ev = await events(upid);
    expect(ev).toHaveLength(1);
    expect(ev[0]).toMatchObject({ detection: 'correlated', requestId, actor: { type: 'portal-user', id: userId } });
    expect((await h.query(`SELECT upid FROM portal_action WHERE request_id = $1`, [requestId]))[0]).toEqual({ upid });
    expect((await events(other))[0]).toMatchObject({ detection: 'reported', actor: { id: 'root@pam' } });
  });

  it('does not hold back tasks of the token that match no open intent', async () => {
    const vmid = [...alpha.state.guests.values()].filter((g) => g.type === 'qemu' && !g.template)[2]!.vmid;
    await recordIntent(vmid, 'start');
    const backup = pveStartsTask(vmid, 'vzdump'); // not a task a start creates
    await h.poller().poll(conn);
    expect((await events(backup))[0]).toMatchObject({ detection: 'reported', actor: { type: 'pve-token' } });
  });
});
