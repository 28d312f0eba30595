import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, testRedisUrl, uniquePrefix, type TestDatabase } from '@tenantgate/testing';
import { loginHeaders, seed, startHarness, take, type Harness, type Seed } from './testing/harness.ts';
import { toGlobalId } from './graphql/relay.ts';

// Tenant isolation matrix: alice (tenant A) tries every id-taking query and mutation on tenant B's
// objects and on nonexistent ids. Expected: no data, the identical NOT_FOUND answer, and an audit
// event for each attempt.
let db: TestDatabase;
let h: Harness;
let s: Seed;
let alice: Record<string, string>;
let bobTokenId = '';

beforeAll(async () => {
  db = await createTestDatabase('gateway_isolation');
  h = await startHarness(db.url, testRedisUrl(), uniquePrefix('gwi'));
  s = await seed(h.em());
  // alice may power-manage in A, so FORBIDDEN never masks the NOT_FOUND under test
  await h
    .em()
    .execute(`UPDATE membership SET privileges = '{VM.Audit,VM.PowerMgmt}' WHERE user_id = ?`, [s.users.alice]);
  alice = await loginHeaders(h, 'alice', s.password, s.tenantA);
  const bob = await loginHeaders(h, 'bob', s.password, s.tenantB);
  const created = await h.gql(`mutation { createApiToken(name: "ci") { id } }`, {}, bob);
  bobTokenId = created.body.data.createApiToken.id;
});

afterAll(async () => {
  await h?.close();
  await db?.drop();
});

const NIL = '00000000-0000-4000-8000-000000000000';

type Case = {
  name: string;
  query: string;
  foreign: () => Record<string, unknown>;
  missing: () => Record<string, unknown>;
};

const cases: Case[] = [
  {
    name: 'resource',
    query: `query($id: ID!) { resource(id: $id) { id name } }`,
    foreign: () => ({ id: toGlobalId('Guest', s.guestsB[0]!) }),
    missing: () => ({ id: toGlobalId('Guest', NIL) }),
  },
  {
    name: 'node(guest)',
    query: `query($id: ID!) { node(id: $id) { id } }`,
    foreign: () => ({ id: toGlobalId('Guest', s.guestsB[1]!) }),
    missing: () => ({ id: toGlobalId('Guest', NIL) }),
  },
  {
    name: 'tenant',
    query: `query($id: ID!) { tenant(id: $id) { id slug } }`,
    foreign: () => ({ id: toGlobalId('Tenant', s.tenantB) }),
    missing: () => ({ id: toGlobalId('Tenant', NIL) }),
  },
  {
    name: 'node(tenant)',
    query: `query($id: ID!) { node(id: $id) { id } }`,
    foreign: () => ({ id: toGlobalId('Tenant', s.tenantB) }),
    missing: () => ({ id: toGlobalId('Tenant', NIL) }),
  },
  {
    name: 'alert',
    query: `query($id: ID!) { alert(id: $id) { id title } }`,
    foreign: () => ({ id: toGlobalId('Alert', s.alertB) }),
    missing: () => ({ id: toGlobalId('Alert', NIL) }),
  },
  {
    name: 'node(alert)',
    query: `query($id: ID!) { node(id: $id) { id } }`,
    foreign: () => ({ id: toGlobalId('Alert', s.alertB) }),
    missing: () => ({ id: toGlobalId('Alert', NIL) }),
  },
  {
    name: 'tasks(filter.resourceId)',
    query: `query($id: ID!) { tasks(filter: { resourceId: $id }) { edges { node { upid } } } }`,
    foreign: () => ({ id: toGlobalId('Guest', s.guestsB[2]!) }),
    missing: () => ({ id: toGlobalId('Guest', NIL) }),
  },
  {
    name: 'acknowledgeAlert',
    query: `mutation($id: ID!) { acknowledgeAlert(id: $id) { id state } }`,
    foreign: () => ({ id: toGlobalId('Alert', s.alertB) }),
    missing: () => ({ id: toGlobalId('Alert', NIL) }),
  },
  {
    name: 'resolveAlert',
    query: `mutation($id: ID!) { resolveAlert(id: $id) { id state } }`,
    foreign: () => ({ id: toGlobalId('Alert', s.alertB) }),
    missing: () => ({ id: toGlobalId('Alert', NIL) }),
  },
  {
    name: 'silenceAlert',
    query: `mutation($id: ID!) { silenceAlert(id: $id) { id state } }`,
    foreign: () => ({ id: toGlobalId('Alert', s.alertB) }),
    missing: () => ({ id: toGlobalId('Alert', NIL) }),
  },
  {
    name: 'powerAction',
    query: `mutation($id: ID!) { powerAction(resourceId: $id, action: stop) { upid } }`,
    foreign: () => ({ id: toGlobalId('Guest', s.guestsB[3]!) }),
    missing: () => ({ id: toGlobalId('Guest', NIL) }),
  },
  {
    name: 'revokeApiToken',
    query: `mutation($id: ID!) { revokeApiToken(id: $id) }`,
    foreign: () => ({ id: bobTokenId }),
    missing: () => ({ id: toGlobalId('ApiToken', NIL) }),
  },
  {
    name: 'rotateApiToken',
    query: `mutation($id: ID!) { rotateApiToken(id: $id) { token } }`,
    foreign: () => ({ id: bobTokenId }),
    missing: () => ({ id: toGlobalId('ApiToken', NIL) }),
  },
];

describe('tenant A on tenant B objects', () => {
  it.each(cases)('$name: foreign and nonexistent ids get the same NOT_FOUND, and both are audited', async (c) => {
    const auditedBefore = await countDenials();
    const foreign = await h.gql(c.query, c.foreign(), alice);
    const missing = await h.gql(c.query, c.missing(), alice);
    expect(foreign.body.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    expect(foreign.body.data ?? null).toBeNull();
    expect(foreign.body).toEqual(missing.body);
    expect(foreign.status).toBe(missing.status);
    expect(await countDenials()).toBe(auditedBefore + 2);
  });

  it('audits empty and garbage ids too (resource(id: ""), clusterIds filter)', async () => {
    const before = await countDenials();
    const empty = await h.gql(`{ resource(id: "") { id } }`, {}, alice);
    expect(empty.body.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const garbage = await h.gql(`{ resources(filter: { clusterIds: ["%%%"] }) { edges { node { id } } } }`, {}, alice);
    expect(garbage.body.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    expect(await countDenials()).toBe(before + 2);
  });

  it('leaves B untouched: its alert is still firing, its token still works', async () => {
    const [alert] = await h.em().execute(`SELECT state FROM alert WHERE id = ?`, [s.alertB]);
    expect(alert).toEqual({ state: 'firing' });
    const [token] = await h.em().execute(`SELECT revoked_at FROM portal_api_token WHERE name = 'ci'`);
    expect(token).toEqual({ revoked_at: null });
  });

  it('lists never include B rows', async () => {
    const res = await h.gql(
      `{ resources(first: 100) { edges { node { pool } } } tasks(first: 100) { edges { node { vmid } } } alerts { edges { node { id } } } auditLog(first: 100) { edges { node { chainId } } } }`,
      {},
      alice,
    );
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data.resources.edges.every((e: any) => e.node.pool === 'acme')).toBe(true);
    expect(res.body.data.tasks.edges.every((e: any) => e.node.vmid >= 100 && e.node.vmid < 200)).toBe(true);
    expect(res.body.data.alerts.edges).toEqual([{ node: { id: toGlobalId('Alert', s.alertA) } }]);
    expect(res.body.data.auditLog.edges.every((e: any) => e.node.chainId === s.tenantA)).toBe(true);
  });

  it('refuses selecting tenant B with X-Tenant-Id for every tenant query, and audits the attempt', async () => {
    const asB = { ...alice, 'x-tenant-id': s.tenantB };
    const before = await countDenials();
    for (const q of [
      '{ resources { edges { node { id } } } }',
      '{ tasks { edges { node { upid } } } }',
      '{ alerts { edges { node { id } } } }',
      '{ auditLog { edges { node { seq } } } }',
      '{ alertRules { id } }',
    ]) {
      const res = await h.gql(q, {}, asB);
      expect(res.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
      expect(res.body.data).toBeNull();
    }
    expect(await countDenials()).toBe(before + 5);
  });

  it('refuses alertStream on tenant B (graphql-ws) and audits it', async () => {
    const before = await countDenials();
    const client = h.wsClient({ authorization: alice.authorization, tenantId: s.tenantB });
    await expect(take(client, `subscription { alertStream(after: "0") { cursor } }`, {}, 1).done).rejects.toThrow(
      /FORBIDDEN/,
    );
    expect(await countDenials()).toBe(before + 1);
  });
});

async function countDenials(): Promise<number> {
  const [row] = await h
    .em()
    .execute<Array<{ n: number }>>(
      `SELECT count(*)::int AS n FROM audit_inbox WHERE event->>'action' IN ('access.not_found', 'access.denied') AND event->'actor'->>'id' = ?`,
      [s.users.alice],
    );
  return row!.n;
}
