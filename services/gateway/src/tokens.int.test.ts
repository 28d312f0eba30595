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

// Portal API tokens (privilege subset, expiry, revocation, rotation) and the alert fan-out across
// two gateway processes sharing Redis.
let db: TestDatabase;
let h: Harness;
let h2: Harness;
let s: Seed;

beforeAll(async () => {
  db = await createTestDatabase('gateway_tokens');
  const prefix = uniquePrefix('gwt');
  h = await startHarness(db.url, testRedisUrl(), prefix);
  h2 = await startHarness(db.url, testRedisUrl(), prefix);
  s = await seed(h.em());
});

afterAll(async () => {
  await h2?.close();
  await h?.close();
  await db?.drop();
});

const CREATE = `mutation($name: String!, $privileges: [String!], $expiresAt: DateTimeISO) {
  createApiToken(name: $name, privileges: $privileges, expiresAt: $expiresAt) { id tokenId token }
}`;
const ME = `{ me { username credential privileges } }`;
const RESOURCES = `{ resources(first: 1) { edges { node { id } } } }`;

describe('portal API tokens', () => {
  it('acts with the intersection of its privileges and the owner’s (privsep)', async () => {
    const bob = await loginHeaders(h, 'bob', s.password, s.tenantB);
    const res = await h.gql(CREATE, { name: 'audit-only', privileges: ['VM.Audit', 'Sys.Modify'] }, bob);
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data.createApiToken.tokenId).toBe('bob!audit-only');
    const token = { authorization: `Bearer ${res.body.data.createApiToken.token}`, 'x-tenant-id': s.tenantB };
    const me = await h.gql(ME, {}, token);
    expect(me.body.data.me).toEqual({ username: 'bob', credential: 'bob!audit-only', privileges: ['VM.Audit'] });
    expect((await h.gql(RESOURCES, {}, token)).body.errors).toBeUndefined();
    const power = await h.gql(`mutation { powerAction(resourceId: "x", action: start) { upid } }`, {}, token);
    expect(power.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    // a token cannot mint tokens
    expect((await h.gql(CREATE, { name: 'child' }, token)).body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });

  it('a privsep=0 token carries the owner’s privileges', async () => {
    const bob = await loginHeaders(h, 'bob', s.password, s.tenantB);
    const res = await h.gql(CREATE, { name: 'full' }, bob);
    const token = { authorization: `Bearer ${res.body.data.createApiToken.token}`, 'x-tenant-id': s.tenantB };
    expect((await h.gql(ME, {}, token)).body.data.me.privileges).toEqual(['VM.Audit', 'VM.PowerMgmt']);
  });

  it('stops working when expired, revoked, or rotated (the new secret works)', async () => {
    const bob = await loginHeaders(h, 'bob', s.password, s.tenantB);
    const past = await h.gql(CREATE, { name: 'old', expiresAt: new Date(Date.now() - 1000).toISOString() }, bob);
    expect(past.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');

    const short = await h.gql(
      CREATE,
      { name: 'short', expiresAt: new Date(Date.now() + 3_600_000).toISOString() },
      bob,
    );
    const shortAuth = { authorization: `Bearer ${short.body.data.createApiToken.token}` };
    expect((await h.gql(ME, {}, shortAuth)).body.data.me.username).toBe('bob');
    await h.em().execute(`UPDATE portal_api_token SET expires_at = now() - interval '1 second' WHERE name = 'short'`);
    expect((await h.gql(ME, {}, shortAuth)).body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');

    const rot = await h.gql(CREATE, { name: 'rot' }, bob);
    const oldAuth = { authorization: `Bearer ${rot.body.data.createApiToken.token}` };
    const rotated = await h.gql(
      `mutation($id: ID!) { rotateApiToken(id: $id) { tokenId token } }`,
      { id: rot.body.data.createApiToken.id },
      bob,
    );
    expect(rotated.body.data.rotateApiToken.tokenId).toBe('bob!rot');
    const newAuth = { authorization: `Bearer ${rotated.body.data.rotateApiToken.token}` };
    expect((await h.gql(ME, {}, oldAuth)).body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect((await h.gql(ME, {}, newAuth)).body.data.me.username).toBe('bob');

    const revoked = await h.gql(
      `mutation($id: ID!) { revokeApiToken(id: $id) }`,
      { id: rot.body.data.createApiToken.id },
      bob,
    );
    expect(revoked.body.data.revokeApiToken).toBe(true);
    expect((await h.gql(ME, {}, newAuth)).body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    const actions = await h
      .em()
      .execute(
        `SELECT event->>'action' AS a FROM audit_inbox WHERE event->'target'->>'name' = 'bob!rot' ORDER BY observed_at`,
      );
    expect(actions.map((r: any) => r.a)).toEqual(['token.created', 'token.rotated', 'token.revoked']);
  });

  it('is refused for a disabled owner', async () => {
    const bob = await loginHeaders(h, 'bob', s.password, s.tenantB);
    const res = await h.gql(CREATE, { name: 'disabled-owner' }, bob);
    const auth = { authorization: `Bearer ${res.body.data.createApiToken.token}` };
    await h.em().execute(`UPDATE portal_user SET disabled = true WHERE username = 'bob'`);
    try {
      expect((await h.gql(ME, {}, auth)).body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      expect((await h.gql(ME, {}, bob)).body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    } finally {
      await h.em().execute(`UPDATE portal_user SET disabled = false WHERE username = 'bob'`);
    }
  });
});

describe('alertStream across two gateway processes', () => {
  it('delivers one Redis publication to subscribers on both gateways', async () => {
    const alice = await loginHeaders(h, 'alice', s.password, s.tenantA);
    const SUB = `subscription($after: String) { alertStream(after: $after) { cursor state } }`;
    const [ev] = await h
      .em()
      .execute<Array<{ id: string }>>(`SELECT id::text AS id FROM alert_event WHERE tenant_id = ?`, [s.tenantA]);
    const subs = [h, h2].map((g) =>
      take<{ alertStream: { cursor: string; state: string } }>(
        g.wsClient({ authorization: alice.authorization, tenantId: s.tenantA }),
        SUB,
        { after: ev!.id },
        1,
      ),
    );
    const channel = alertChannel(h.prefix, s.tenantA);
    // wait until both gateways have subscribed (one Redis subscriber connection each)
    for (let i = 0; i < 500; i++) {
      const [, n] = (await h.redis.pubsub('NUMSUB', channel)) as [string, number];
      if (Number(n) >= 2) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    // Notifications only trigger a read: the event is a real alert_event row.
    const cursor = await insertAlertEvent(h.em(), s.alertA, s.tenantA, 'acknowledged');
    await h.redis.publish(channel, alertNotification(cursor, s.alertA, s.tenantA, 'acknowledged'));
    const got = await Promise.all(subs.map((x) => x.done));
    expect(got).toEqual([
      [{ alertStream: { cursor, state: 'acknowledged' } }],
      [{ alertStream: { cursor, state: 'acknowledged' } }],
    ]);
  });
});
