import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, testRedisUrl, uniquePrefix, type TestDatabase } from '@tenantgate/testing';
import { startSimulator, type Simulator } from '@tenantgate/pve-sim';
import { encryptSecret, hashPassword } from '@tenantgate/shared';
import { loginHeaders, startHarness, type Harness } from './testing/harness.ts';
import { toGlobalId } from './graphql/relay.ts';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { createLogger, QueueName } from '@tenantgate/shared';
import { defaultPveClientFactory, PowerActions, type PveClientFactory } from './data/power.ts';
import { PortalAudit } from './data/portal-audit.ts';
import { TenantScope } from './auth/authorization.ts';
import type { GuestRow } from './data/resources.ts';

// Power actions against the PVE simulator (a real HTTPS server with PVE's API shapes).
let db: TestDatabase;
let h: Harness;
let sim: Simulator;
const key = randomBytes(32);
const password = 'power user password';
let tenantId = '';
let connectionId = '';
const guestIds: Record<number, string> = {};
let vmids: number[] = [];

const POWER = `mutation($id: ID!, $action: PowerAction!) { powerAction(resourceId: $id, action: $action) { upid requestId resource { vmid } } }`;

beforeAll(async () => {
  db = await createTestDatabase('gateway_power');
  sim = await startSimulator({ scenario: 'demo', activity: false, powerTaskDurationS: 1 });
  h = await startHarness(db.url, testRedisUrl(), uniquePrefix('gwp'), { credentialsKey: key });
  const alpha = sim.cluster('alpha');
  const em = h.em();
  const [t] = await em.execute<Array<{ id: string }>>(
    `INSERT INTO tenant (slug, name) VALUES ('acme', 'Acme') RETURNING id`,
  );
  tenantId = t!.id;
  const [c] = await em.execute<Array<{ id: string }>>(
    `INSERT INTO pve_connection (name, base_url, fingerprint, token_id, secret_enc) VALUES ('alpha', ?, ?, ?, ?) RETURNING id`,
    [alpha.url, alpha.fingerprint, alpha.rootToken.tokenId, encryptSecret(key, alpha.rootToken.secret)],
  );
  connectionId = c!.id;
  await em.execute(`INSERT INTO assignment (tenant_id, connection_id, kind) VALUES (?, ?, 'connection')`, [
    tenantId,
    connectionId,
  ]);
  const guests = [...alpha.state.guests.values()].filter((g) => !g.template).slice(0, 3);
  vmids = guests.map((g) => g.vmid);
  for (const g of guests) {
    const [row] = await em.execute<Array<{ id: string }>>(
      `INSERT INTO guest (connection_id, vmid, type, node, name, status, raw) VALUES (?, ?, ?, ?, ?, ?, '{}') RETURNING id`,
      [connectionId, g.vmid, g.type, g.node, g.name, g.status],
    );
    guestIds[g.vmid] = row!.id;
  }
  const hash = await hashPassword(password);
  for (const [name, privileges] of [
    ['operator', '{VM.Audit,VM.PowerMgmt}'],
    ['viewer', '{VM.Audit}'],
  ] as const) {
    const [u] = await em.execute<Array<{ id: string }>>(
      `INSERT INTO portal_user (username, password_hash) VALUES (?, ?) RETURNING id`,
      [name, hash],
    );
    await em.execute(
      `INSERT INTO membership (user_id, tenant_id, role, privileges) VALUES (?, ?, 'tenant_user', ?::text[])`,
      [u!.id, tenantId, privileges],
    );
  }
});

afterAll(async () => {
  await h?.close();
  await sim?.stop();
  await db?.drop();
});

describe('powerAction', () => {
  it('calls PVE, records the UPID with the portal user and tenant, and audits it', async () => {
    const headers = await loginHeaders(h, 'operator', password, tenantId);
    const vmid = vmids[0]!;
    const simGuest = sim.cluster('alpha').state.guest(vmid);
    const action = simGuest.status === 'running' ? 'stop' : 'start';
    const res = await h.gql(POWER, { id: toGlobalId('Guest', guestIds[vmid]!), action }, headers);
    expect(res.body.errors).toBeUndefined();
    const { upid, requestId } = res.body.data.powerAction;
    expect(upid).toMatch(new RegExp(`^UPID:${simGuest.node}:.*:(qm|vz)${action}:${vmid}:`));
    const [pa] = await h
      .em()
      .execute(`SELECT upid, action, error, tenant_id FROM portal_action WHERE request_id = ?`, [requestId]);
    expect(pa).toMatchObject({ upid, action, error: null, tenant_id: tenantId });
    const [task] = await h
      .em()
      .execute(`SELECT portal_user_id, portal_tenant_id, vmid, outcome FROM pve_task WHERE upid = ?`, [upid]);
    const me = (await h.em().execute(`SELECT id FROM portal_user WHERE username = 'operator'`))[0]!;
    expect(task).toMatchObject({ portal_user_id: me.id, portal_tenant_id: tenantId, vmid });
    const [ev] = await h
      .em()
      .execute(`SELECT event FROM audit_inbox WHERE dedup_key = ?`, [`portal:${requestId}:guest.${action}`]);
    expect(ev!.event).toMatchObject({
      outcome: 'success',
      upid,
      tenantIds: [tenantId],
      actor: { type: 'portal-user', id: me.id },
    });
    // The nested tasks of the resource now include the portal-started task.
    const list = await h.gql(
      `{ resources(first: 10) { edges { node { vmid tasks { upid fromPortal } } } } }`,
      {},
      headers,
    );
    const node = list.body.data.resources.edges.find((e: any) => e.node.vmid === vmid).node;
    expect(node.tasks).toContainEqual({ upid, fromPortal: true });
  });

  it('refuses a member without VM.PowerMgmt (FORBIDDEN) and never calls PVE', async () => {
    const headers = await loginHeaders(h, 'viewer', password, tenantId);
    const before = await h.em().execute(`SELECT count(*)::int AS n FROM portal_action`);
    const res = await h.gql(POWER, { id: toGlobalId('Guest', guestIds[vmids[1]!]!), action: 'start' }, headers);
    expect(res.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const after = await h.em().execute(`SELECT count(*)::int AS n FROM portal_action`);
    expect(after[0]!.n).toBe(before[0]!.n);
  });

  it('fails closed on a certificate that does not match the pinned fingerprint, and records the failure', async () => {
    await h
      .em()
      .execute(`UPDATE pve_connection SET fingerprint = ? WHERE id = ?`, [
        Array.from({ length: 32 }, () => 'AB').join(':'),
        connectionId,
      ]);
    try {
      const headers = await loginHeaders(h, 'operator', password, tenantId);
      const res = await h.gql(POWER, { id: toGlobalId('Guest', guestIds[vmids[2]!]!), action: 'start' }, headers);
      expect(res.body.errors?.[0]?.extensions?.code).toBe('PVE_TLS_FINGERPRINT_MISMATCH');
      const [pa] = await h
        .em()
        .execute(`SELECT upid, error FROM portal_action WHERE vmid = ? ORDER BY created_at DESC LIMIT 1`, [vmids[2]]);
      expect(pa).toEqual({ upid: null, error: 'PVE_TLS_FINGERPRINT_MISMATCH' });
      const failures = await h
        .em()
        .execute(
          `SELECT event FROM audit_inbox WHERE event->>'action' LIKE 'guest.%' AND event->>'outcome' = 'failure'`,
        );
      expect(failures).toHaveLength(1);
    } finally {
      await h
        .em()
        .execute(`UPDATE pve_connection SET fingerprint = ? WHERE id = ?`, [
          sim.cluster('alpha').fingerprint,
          connectionId,
        ]);
    }
  });

  it('regression: the intent is recorded before PVE is called, and the UPID only after PVE answered (pve-sync defers in between)', async () => {
    const em = h.em();
    const vmid = vmids[0]!;
    const simGuest = sim.cluster('alpha').state.guest(vmid);
    const [user] = await em.execute<Array<{ id: string }>>(`SELECT id FROM portal_user WHERE username = 'operator'`);
    const requestId = randomUUID();
    const seen: Array<{ when: string; upid: string | null; rows: number }> = [];
    const intentRow = async (when: string) => {
      const rows = await h
        .em()
        .execute<Array<{ upid: string | null }>>(`SELECT upid FROM portal_action WHERE request_id = ?`, [requestId]);
      seen.push({ when, upid: rows[0]?.upid ?? null, rows: rows.length });
    };
    // The hook sits on the real client's power call: it observes the database right before the
    // request goes to PVE and right after PVE answered — the window a pve-sync poll can fall into.
    const hooked: PveClientFactory = (c) => {
      const client = defaultPveClientFactory(c);
      const call = client.powerAction.bind(client);
      client.powerAction = (async (...args: Parameters<typeof call>) => {
        await intentRow('before PVE');
        const upid = await call(...args);
        await intentRow('after PVE');
        return upid;
      }) as typeof client.powerAction;
      return client;
    };
    const logger = createLogger('power-test', 'silent');
    const redis = new Redis(testRedisUrl(), { maxRetriesPerRequest: null });
    const queue = new Queue(QueueName.auditWakeup, { connection: redis, prefix: uniquePrefix('gwp_hook') });
    try {
      const actions = new PowerActions(h.orm, new PortalAudit(queue, redis, logger), key, hooked, logger);
      const guest = {
        connection_id: connectionId,
        vmid,
        type: simGuest.type,
        node: simGuest.node,
        name: null,
      } as GuestRow;
      const action = simGuest.status === 'running' ? 'stop' : 'start';
      const upid = await actions.run(
        TenantScope.grant(tenantId),
        guest,
        action,
        { userId: user!.id, principal: 'operator', actorType: 'portal-user' },
        { requestId, srcIp: null },
      );
      expect(seen).toEqual([
        { when: 'before PVE', upid: null, rows: 1 },
        { when: 'after PVE', upid: null, rows: 1 },
      ]);
      const [pa] = await em.execute(`SELECT upid, vmid, action, error FROM portal_action WHERE request_id = ?`, [
        requestId,
      ]);
      expect(pa).toEqual({ upid, vmid, action, error: null });
    } finally {
      await queue.close();
      redis.disconnect();
    }
  });
});
