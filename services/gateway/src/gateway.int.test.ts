import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, testRedisUrl, uniquePrefix, type TestDatabase } from '@tenantgate/testing';
import { alertChannel } from '@tenantgate/shared';
import {
  alertNotification,
  insertAlertEvent,
  loginHeaders,
  seed,
  startHarness,
  take,
  type Harness,
  type Seed,
} from './testing/harness.ts';
import { toGlobalId } from './graphql/relay.ts';

let db: TestDatabase;
let h: Harness;
let s: Seed;

beforeAll(async () => {
  db = await createTestDatabase('gateway');
  h = await startHarness(db.url, testRedisUrl(), uniquePrefix('gw'));
  s = await seed(h.em());
});

afterAll(async () => {
  await h?.close();
  await db?.drop();
});

const RESOURCES = `query($first: Int, $after: String, $filter: ResourceFilter) {
  resources(first: $first, after: $after, filter: $filter) {
    edges { cursor node { id vmid name status pool tags cluster tasks { upid outcome } tenant { slug } } }
    pageInfo { hasNextPage endCursor }
  }
}`;

describe('login and sessions', () => {
  it('logs in, answers me with memberships, and writes portal audit events to the inbox', async () => {
    const headers = await loginHeaders(h, 'alice', s.password, s.tenantA);
    const me = await h.gql(`{ me { username memberships { tenantId role } activeTenantId privileges } }`, {}, headers);
    expect(me.body.errors).toBeUndefined();
    expect(me.body.data.me).toMatchObject({
      username: 'alice',
      activeTenantId: s.tenantA,
      memberships: [{ tenantId: s.tenantA, role: 'tenant_admin' }],
    });
    expect(me.body.data.me.privileges).toContain('VM.PowerMgmt');
    const inbox = await h
      .em()
      .execute(`SELECT event FROM audit_inbox WHERE event->>'action' = 'auth.login' AND event->'actor'->>'id' = ?`, [
        s.users.alice,
      ]);
    expect(inbox.length).toBeGreaterThan(0);
    expect(inbox[0]!.event).toMatchObject({ source: 'portal', outcome: 'success' });
  });

  it('refuses a wrong password, a disabled user and an expired user with one answer', async () => {
    const bad = await h.gql(`mutation { login(username: "bob", password: "nope") { token } }`);
    expect(bad.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    await h.em().execute(`UPDATE portal_user SET disabled = true WHERE username = 'dave'`);
    const disabled = await h.gql(`mutation($p: String!) { login(username: "dave", password: $p) { token } }`, {
      p: s.password,
    });
    expect(disabled.body.errors?.[0]).toMatchObject({
      message: 'Invalid credentials',
      extensions: { code: 'UNAUTHENTICATED' },
    });
    await h
      .em()
      .execute(
        `UPDATE portal_user SET disabled = false, expires_at = now() - interval '1 day' WHERE username = 'dave'`,
      );
    const expired = await h.gql(`mutation($p: String!) { login(username: "dave", password: $p) { token } }`, {
      p: s.password,
    });
    expect(expired.body.errors?.[0]?.message).toBe('Invalid credentials');
    await h.em().execute(`UPDATE portal_user SET expires_at = NULL WHERE username = 'dave'`);
  });

  it('locks an account after repeated failures, audits the lockout, and refuses the right password while locked', async () => {
    await h
      .em()
      .execute(
        `INSERT INTO portal_user (username, password_hash) SELECT 'mallory', password_hash FROM portal_user WHERE username = 'alice'`,
      );
    for (let i = 0; i < 3; i++) await h.gql(`mutation { login(username: "mallory", password: "wrong") { token } }`);
    const locked = await h.gql(`mutation($p: String!) { login(username: "mallory", password: $p) { token } }`, {
      p: s.password,
    });
    expect(locked.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    const rows = await h
      .em()
      .execute(
        `SELECT event->>'action' AS action, event->'payload'->>'reason' AS reason FROM audit_inbox WHERE event->'target'->>'name' = 'mallory' ORDER BY observed_at`,
      );
    expect(rows.map((r: any) => r.action)).toEqual([
      'auth.login_failed',
      'auth.login_failed',
      'auth.login_failed',
      'auth.lockout',
      'auth.login_failed',
    ]);
    expect(rows.at(-1)!.reason).toBe('locked');
    const failed = await h
      .em()
      .execute(`SELECT event->>'srcIp' AS ip FROM audit_inbox WHERE event->>'action' = 'auth.login_failed' LIMIT 1`);
    expect(failed[0]!.ip).toMatch(/127\.0\.0\.1/);
  });

  it('stamps the session’s last_seen_at on use', async () => {
    const headers = await loginHeaders(h, 'dave', s.password);
    await h.gql(`{ me { username } }`, {}, headers);
    const rows = await h
      .em()
      .execute(
        `SELECT s.last_seen_at FROM portal_session s JOIN portal_user u ON u.id = s.user_id WHERE u.username = 'dave' ORDER BY s.created_at DESC LIMIT 1`,
      );
    expect(rows[0]!.last_seen_at).not.toBeNull();
  });

  it('refuses a revoked session after logout and an unknown token', async () => {
    const headers = await loginHeaders(h, 'bob', s.password, s.tenantB);
    expect((await h.gql(`mutation { logout }`, {}, headers)).body.data).toEqual({ logout: true });
    const after = await h.gql(`{ me { username } }`, {}, headers);
    expect(after.status).toBe(401);
    expect(after.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    const unknown = await h.gql(`{ me { username } }`, {}, { authorization: 'Bearer tgs_nope' });
    expect(unknown.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('throttles logins per source IP (RATE_LIMITED) and audits the throttling', async () => {
    const t = await startHarness(db.url, testRedisUrl(), uniquePrefix('gwl'), { loginIpLimit: 3, loginIpWindowS: 60 });
    try {
      const codes: Array<string | undefined> = [];
      for (let i = 0; i < 4; i++)
        codes.push(
          (await t.gql(`mutation { login(username: "nobody", password: "x") { token } }`)).body.errors?.[0]?.extensions
            ?.code,
        );
      expect(codes).toEqual(['UNAUTHENTICATED', 'UNAUTHENTICATED', 'UNAUTHENTICATED', 'RATE_LIMITED']);
      const rows = await t
        .em()
        .execute(`SELECT count(*)::int AS n FROM audit_inbox WHERE event->>'action' = 'auth.login_throttled'`);
      expect(rows[0]!.n).toBe(1);
    } finally {
      await t.close();
    }
  });

  it('requires authentication for queries (shield)', async () => {
    const res = await h.gql(`{ me { username } }`);
    expect(res.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });
});

describe('resources', () => {
  it("lists only the active tenant's guests with nested tasks and tenant, paginated by cursor", async () => {
    const headers = await loginHeaders(h, 'alice', s.password, s.tenantA);
    const p1 = await h.gql(RESOURCES, { first: 5 }, headers);
    expect(p1.body.errors).toBeUndefined();
    const c1 = p1.body.data.resources;
    expect(c1.edges).toHaveLength(5);
    expect(c1.pageInfo.hasNextPage).toBe(true);
    expect(c1.edges[0].node).toMatchObject({
      name: 'acme-vm-000',
      cluster: 'pve1',
      pool: 'acme',
      tenant: { slug: 'acme' },
    });
    expect(c1.edges[0].node.tasks).toHaveLength(2);
    const all = [...c1.edges];
    let after = c1.pageInfo.endCursor;
    for (;;) {
      const p = await h.gql(RESOURCES, { first: 5, after }, headers);
      all.push(...p.body.data.resources.edges);
      if (!p.body.data.resources.pageInfo.hasNextPage) break;
      after = p.body.data.resources.pageInfo.endCursor;
    }
    expect(all).toHaveLength(12);
    expect(new Set(all.map((e: any) => e.node.id)).size).toBe(12);
    expect(all.every((e: any) => e.node.pool === 'acme')).toBe(true);
  });

  it('filters by type, status, tag and name', async () => {
    const headers = await loginHeaders(h, 'alice', s.password, s.tenantA);
    const res = await h.gql(
      RESOURCES,
      { first: 50, filter: { type: 'lxc', tag: 'web', status: 'running', name: 'VM-00' } },
      headers,
    );
    const names = res.body.data.resources.edges.map((e: any) => e.node.name);
    expect(names).toEqual(['acme-vm-001', 'acme-vm-003', 'acme-vm-005', 'acme-vm-007', 'acme-vm-009']);
  });

  it('refuses a tenant the caller is not a member of, and a member without VM.Audit', async () => {
    const alice = await loginHeaders(h, 'alice', s.password, s.tenantB);
    const res = await h.gql(RESOURCES, { first: 5 }, alice);
    expect(res.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(res.body.data).toBeNull();
    const carol = await loginHeaders(h, 'carol', s.password, s.tenantA);
    expect((await h.gql(RESOURCES, { first: 5 }, carol)).body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });

  it('bounds the page size', async () => {
    const headers = await loginHeaders(h, 'alice', s.password, s.tenantA);
    const res = await h.gql(RESOURCES, { first: 101 }, headers);
    expect(res.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('answers a foreign resource id exactly like a nonexistent one, and audits both attempts', async () => {
    const headers = await loginHeaders(h, 'alice', s.password, s.tenantA);
    const foreign = toGlobalId('Guest', s.guestsB[0]!);
    const missing = toGlobalId('Guest', '00000000-0000-4000-8000-000000000000');
    const q = `query($id: ID!) { resource(id: $id) { id name } }`;
    const a = await h.gql(q, { id: foreign }, headers);
    const b = await h.gql(q, { id: missing }, headers);
    expect(a.body).toEqual({
      data: null,
      errors: [
        {
          message: 'Resource not found',
          path: ['resource'],
          locations: [{ line: 1, column: 19 }],
          extensions: { code: 'NOT_FOUND' },
        },
      ],
    });
    expect(b.body).toEqual(a.body);
    const audited = await h
      .em()
      .execute(`SELECT event->'target'->>'id' AS id FROM audit_inbox WHERE event->>'action' = 'access.not_found'`);
    expect(audited.map((r: any) => r.id)).toEqual(expect.arrayContaining([foreign, missing]));
  });
});

describe('auditLog', () => {
  it("shows the active tenant's chain only, with filters", async () => {
    const headers = await loginHeaders(h, 'alice', s.password, s.tenantA);
    const res = await h.gql(
      `{ auditLog(first: 10) { edges { node { chainId seq action targetName } } pageInfo { hasNextPage } } }`,
      {},
      headers,
    );
    expect(res.body.errors).toBeUndefined();
    const nodes = res.body.data.auditLog.edges.map((e: any) => e.node);
    expect(nodes.map((n: any) => n.seq)).toEqual(['3', '2', '1']);
    expect(nodes.every((n: any) => n.chainId === s.tenantA)).toBe(true);
    const failed = await h.gql(
      `{ auditLog(filter: { outcome: "failure", srcIp: "10.0.0.3" }) { edges { node { action } } } }`,
      {},
      headers,
    );
    expect(failed.body.data.auditLog.edges).toEqual([{ node: { action: 'auth.login_failed' } }]);
    const text = await h.gql(`{ auditLog(filter: { text: "secret-2" }) { edges { node { seq } } } }`, {}, headers);
    expect(text.body.data.auditLog.edges).toEqual([{ node: { seq: '2' } }]);
  });

  it('paginates by cursor', async () => {
    const headers = await loginHeaders(h, 'alice', s.password, s.tenantA);
    const p1 = await h.gql(
      `{ auditLog(first: 2) { edges { node { seq } } pageInfo { hasNextPage endCursor } } }`,
      {},
      headers,
    );
    expect(p1.body.data.auditLog.pageInfo.hasNextPage).toBe(true);
    const p2 = await h.gql(
      `query($a: String) { auditLog(first: 2, after: $a) { edges { node { seq } } pageInfo { hasNextPage } } }`,
      { a: p1.body.data.auditLog.pageInfo.endCursor },
      headers,
    );
    expect(p2.body.data.auditLog).toEqual({ edges: [{ node: { seq: '1' } }], pageInfo: { hasNextPage: false } });
  });

  it('shows the provider chain to the compliance auditor only', async () => {
    const alice = await loginHeaders(h, 'alice', s.password, s.tenantA);
    const q = `{ auditLog(filter: { provider: true }) { edges { node { chainId } } } }`;
    expect((await h.gql(q, {}, alice)).body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const auditor = await loginHeaders(h, 'auditor', s.password);
    const res = await h.gql(q, {}, auditor);
    expect(res.body.data.auditLog.edges.map((e: any) => e.node.chainId)).toEqual(['provider', 'provider', 'provider']);
    const viaTenant = await h.gql(
      `{ auditLog { edges { node { chainId } } } }`,
      {},
      { ...auditor, 'x-tenant-id': s.tenantB },
    );
    expect(viaTenant.body.data.auditLog.edges.every((e: any) => e.node.chainId === s.tenantB)).toBe(true);
  });
});

describe('alertStream over graphql-ws', () => {
  const SUB = `subscription($after: String) { alertStream(after: $after) { cursor alertId state ruleCode } }`;

  it('replays from Postgres after the cursor, then streams live from Redis pub/sub without duplicates', async () => {
    const headers = await loginHeaders(h, 'alice', s.password, s.tenantA);
    const client = h.wsClient({ authorization: headers.authorization, tenantId: s.tenantA });
    const sub = take<{ alertStream: { cursor: string; alertId: string; state: string } }>(
      client,
      SUB,
      { after: '0' },
      3,
    );
    // The replayed event of tenant A arrives first; wait for it before publishing live ones.
    const ev = (
      await h
        .em()
        .execute<Array<{ id: string }>>(`SELECT id::text AS id FROM alert_event WHERE tenant_id = ?`, [s.tenantA])
    )[0]!;
    const live = async (cursor: string, state: string) =>
      h.redis.publish(alertChannel(h.prefix, s.tenantA), alertNotification(cursor, s.alertA, s.tenantA, state));
    // Publish until the subscriber is surely listening: a duplicate of the replayed cursor is dropped,
    // later cursors come through once each.
    const deadline = Date.now() + 10_000;
    let delivered = 0;
    while (delivered === 0 && Date.now() < deadline) {
      await live(ev.id, 'firing');
      delivered = await h.redis.pubsub('NUMSUB', alertChannel(h.prefix, s.tenantA)).then((r) => Number(r[1]));
      await new Promise((r) => setTimeout(r, 20));
    }
    // Live notifications trigger a read of Postgres: the events are real alert_event rows.
    await live(ev.id, 'firing');
    const acked = await insertAlertEvent(h.em(), s.alertA, s.tenantA, 'acknowledged');
    await live(acked, 'acknowledged');
    await live(acked, 'acknowledged');
    const resolved = await insertAlertEvent(h.em(), s.alertA, s.tenantA, 'resolved');
    await live(resolved, 'resolved');
    const got = await sub.done;
    expect(got.map((g) => g.alertStream.state)).toEqual(['firing', 'acknowledged', 'resolved']);
    expect(got.map((g) => g.alertStream.cursor)).toEqual([ev.id, acked, resolved]);
    expect(got.every((g) => g.alertStream.alertId === s.alertA)).toBe(true);
  });

  // Found by the long fault test: alerts published while the gateway's Redis subscriber was
  // reconnecting never reached open sockets — the feed read Postgres only once.
  it('regression: a live notification that was lost (Redis reconnect) is read from Postgres, in order', async () => {
    const headers = await loginHeaders(h, 'alice', s.password, s.tenantA);
    const client = h.wsClient({ authorization: headers.authorization, tenantId: s.tenantA });
    const insert = (state: string) => insertAlertEvent(h.em(), s.alertA, s.tenantA, state);
    const head = (
      await h.em().execute<Array<{ id: string }>>(`SELECT COALESCE(max(id), 0)::text AS id FROM alert_event`)
    )[0]!.id;
    const sub = take<{ alertStream: { cursor: string; state: string } }>(client, SUB, { after: head }, 2);
    await new Promise((r) => setTimeout(r, 300));
    const lost = await insert('acknowledged'); // its notification never arrives
    const second = await insert('resolved');
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      const listeners = await h.redis.pubsub('NUMSUB', alertChannel(h.prefix, s.tenantA)).then((r) => Number(r[1]));
      if (listeners > 0) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    await h.redis.publish(
      alertChannel(h.prefix, s.tenantA),
      JSON.stringify({
        cursor: second,
        alertId: s.alertA,
        tenantId: s.tenantA,
        ruleCode: 'AUTH-001',
        state: 'resolved',
        fromState: 'firing',
        severity: 'high',
        title: 't',
        at: new Date().toISOString(),
      }),
    );
    const got = await sub.done;
    expect(got.map((g) => g.alertStream.cursor)).toEqual([lost, second]);
    expect(got.map((g) => g.alertStream.state)).toEqual(['acknowledged', 'resolved']);
  });

  it('replays nothing at or before the cursor and never another tenant’s events', async () => {
    const headers = await loginHeaders(h, 'bob', s.password, s.tenantB);
    const client = h.wsClient({ Authorization: headers.authorization, tenantId: s.tenantB });
    const sub = take<{ alertStream: { alertId: string } }>(client, SUB, { after: '0' }, 1);
    const got = await sub.done;
    expect(got[0]!.alertStream.alertId).toBe(s.alertB);
  });

  it('refuses connections without valid credentials in connection_init', async () => {
    const client = h.wsClient({ authorization: 'Bearer tgs_invalid', tenantId: s.tenantA });
    await expect(take(client, SUB, {}, 1).done).rejects.toBeDefined();
  });

  it('refuses a subscription on a tenant the user is not a member of', async () => {
    const headers = await loginHeaders(h, 'bob', s.password, s.tenantA);
    const client = h.wsClient({ authorization: headers.authorization, tenantId: s.tenantA });
    await expect(take(client, SUB, {}, 1).done).rejects.toThrow(/FORBIDDEN/);
  });
});

describe('taskUpdates over graphql-ws', () => {
  const SUB = `subscription($after: String) { taskUpdates(after: $after) { cursor resourceId task { upid outcome } } }`;
  const insertTask = async (guestId: string, upid: string) =>
    h.em().execute(
      `INSERT INTO pve_task (upid, connection_id, node, type, task_id, vmid, pve_user, starttime, outcome, updated_at)
       SELECT ?, g.connection_id, g.node, 'qmstop', g.vmid::text, g.vmid, 'root@pam', now(), 'running', now() + interval '2 seconds' FROM guest g WHERE g.id = ?`,
      [upid, guestId],
    );

  it("streams changed tasks of the tenant's guests only, woken by Redis, and resumes after a cursor", async () => {
    const headers = await loginHeaders(h, 'alice', s.password, s.tenantA);
    const client = h.wsClient({ authorization: headers.authorization, tenantId: s.tenantA });
    const first = take<{ taskUpdates: { cursor: string; resourceId: string; task: { upid: string } } }>(
      client,
      SUB,
      {},
      1,
    );
    const channel = `${h.prefix}:tasks:${s.tenantA}`;
    for (let i = 0; i < 500; i++) {
      const [, n] = (await h.redis.pubsub('NUMSUB', channel)) as [string, number];
      if (Number(n) >= 1) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    await insertTask(s.guestsB[0]!, 'UPID:pve1:B-task');
    await insertTask(s.guestsA[5]!, 'UPID:pve1:A-task-1');
    await h.redis.publish(channel, '');
    const [got] = await first.done;
    expect(got!.taskUpdates.task.upid).toBe('UPID:pve1:A-task-1');
    expect(got!.taskUpdates.resourceId).toBe(toGlobalId('Guest', s.guestsA[5]!));
    await insertTask(s.guestsA[6]!, 'UPID:pve1:A-task-2');
    const resumed = take<{ taskUpdates: { task: { upid: string } } }>(
      client,
      SUB,
      { after: got!.taskUpdates.cursor },
      1,
    );
    expect((await resumed.done)[0]!.taskUpdates.task.upid).toBe('UPID:pve1:A-task-2');
  });

  it('rejects a malformed cursor', async () => {
    const headers = await loginHeaders(h, 'alice', s.password, s.tenantA);
    const client = h.wsClient({ authorization: headers.authorization, tenantId: s.tenantA });
    await expect(take(client, SUB, { after: 'garbage' }, 1).done).rejects.toThrow(/BAD_USER_INPUT/);
  });
});

describe('limits and hygiene', () => {
  it('rejects queries deeper than the limit', async () => {
    const headers = await loginHeaders(h, 'alice', s.password, s.tenantA);
    const deep = `{ resources { edges { node { tenant { id } tasks { upid } } } } ${'me { memberships { tenantId } }'} }`;
    expect((await h.gql(deep, {}, headers)).body.errors).toBeUndefined();
    const res = await h.gql(
      `{ a: me { username } ${Array.from({ length: 20 }, (_, i) => `a${i}: me { username }`).join(' ')} }`,
      {},
      headers,
    );
    expect(res.body.errors?.[0]?.message).toMatch(/alias/i);
  });

  it('refuses introspection when disabled and masks unknown-field suggestions', async () => {
    const res = await h.gql(`{ __schema { types { name } } }`);
    expect(res.body.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
  });

  it('refuses a GET without CSRF-safe headers', async () => {
    const res = await fetch(`${h.url}?query=${encodeURIComponent('{ me { username } }')}`);
    expect(res.status).toBe(400);
    expect(await res.text()).toMatch(/CSRF/i);
  });

  it('serves /healthz, /readyz and /metrics', async () => {
    const base = h.url.replace('/graphql', '');
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect(await (await fetch(`${base}/readyz`)).json()).toEqual({ status: 'ready', postgres: 'up', redis: 'up' });
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/gateway_graphql_operations_total\{type="query",outcome="ok"\} \d+/);
  });

  it('rejects bodies over the limit', async () => {
    const res = await fetch(h.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: `{ me { username } }`, pad: 'x'.repeat(200_000) }),
    });
    expect(res.status).toBe(413);
  });
});
