import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, testRedisUrl, uniquePrefix, type TestDatabase } from '@tenantgate/testing';
import { decryptSecret } from '@tenantgate/shared';
import { loginHeaders, seed, startHarness, type Harness, type Seed } from './testing/harness.ts';
import { toGlobalId } from './graphql/relay.ts';

let db: TestDatabase;
let h: Harness;
let s: Seed;
let admin: Record<string, string>;

beforeAll(async () => {
  db = await createTestDatabase('gateway_admin');
  h = await startHarness(db.url, testRedisUrl(), uniquePrefix('gwa'));
  s = await seed(h.em());
  admin = await loginHeaders(h, 'admin', s.password);
});

afterAll(async () => {
  await h?.close();
  await db?.drop();
});

const FP = Array.from({ length: 32 }, (_, i) => i.toString(16).padStart(2, '0')).join(':');
const ADD = `mutation($input: ConnectionInput!) { addConnection(input: $input) { id name fingerprint health } }`;

describe('connections (Portal Admin)', () => {
  it('adds a connection with a pinned fingerprint and an encrypted secret that never appears in the audit', async () => {
    const input = {
      name: 'gamma',
      baseUrl: 'https://10.9.0.1:8006',
      fingerprint: FP.toLowerCase(),
      tokenId: 'sync@pve!tg',
      secret: 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee',
    };
    const res = await h.gql(ADD, { input }, admin);
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data.addConnection).toMatchObject({
      name: 'gamma',
      fingerprint: FP.toUpperCase(),
      health: 'unknown',
    });
    const [row] = await h.em().execute(`SELECT secret_enc FROM pve_connection WHERE name = 'gamma'`);
    expect(Buffer.from(row!.secret_enc).toString('utf8')).not.toContain(input.secret);
    expect(decryptSecret(h.gateway.services.credentialsKey, Buffer.from(row!.secret_enc))).toBe(input.secret);
    const events = await h
      .em()
      .execute(`SELECT event::text AS e FROM audit_inbox WHERE event->>'action' = 'connection.added'`);
    expect(events).toHaveLength(1);
    expect(events[0]!.e).not.toContain(input.secret);
    expect((await h.gql(ADD, { input }, admin)).body.errors?.[0]?.extensions?.code).toBe('CONFLICT');
    expect(
      (await h.gql(ADD, { input: { ...input, name: 'delta', fingerprint: 'nope' } }, admin)).body.errors?.[0]
        ?.extensions?.code,
    ).toBe('BAD_USER_INPUT');
    expect(
      (await h.gql(ADD, { input: { ...input, name: 'delta', baseUrl: 'http://x' } }, admin)).body.errors?.[0]
        ?.extensions?.code,
    ).toBe('BAD_USER_INPUT');
  });

  it('refuses tenant admins', async () => {
    const alice = await loginHeaders(h, 'alice', s.password, s.tenantA);
    const res = await h.gql(
      ADD,
      { input: { name: 'x', baseUrl: 'https://x', fingerprint: FP, tokenId: 'a@pve!b', secret: '12345678' } },
      alice,
    );
    expect(res.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });

  it('lists connections with health for the admin, and only assigned ones (no URL) for a tenant admin', async () => {
    const all = await h.gql(`{ connections { name baseUrl } }`, {}, admin);
    expect(all.body.data.connections.map((c: any) => c.name).sort()).toEqual(['gamma', 'pve1']);
    const alice = await loginHeaders(h, 'alice', s.password, s.tenantA);
    const mine = await h.gql(`{ connections { name baseUrl } }`, {}, alice);
    expect(mine.body.data.connections).toEqual([{ name: 'pve1', baseUrl: null }]);
  });
});

describe('assignments (Portal Admin)', () => {
  it('moves a guest between tenants: it leaves A, appears in B, and the move is audited for both', async () => {
    const [g] = await h
      .em()
      .execute<Array<{ vmid: number; id: string }>>(`SELECT vmid, id FROM guest WHERE id = ?`, [s.guestsA[0]]);
    const res = await h.gql(
      `mutation($t: ID!, $c: ID!, $v: Int) { assign(tenantId: $t, connectionId: $c, vmid: $v) }`,
      { t: toGlobalId('Tenant', s.tenantB), c: toGlobalId('Connection', s.connectionId), v: g!.vmid },
      admin,
    );
    expect(res.body.errors).toBeUndefined();
    const [after] = await h.em().execute(`SELECT tenant_id FROM guest WHERE id = ?`, [g!.id]);
    expect(after).toEqual({ tenant_id: s.tenantB });
    const bob = await loginHeaders(h, 'bob', s.password, s.tenantB);
    const r = await h.gql(`query($id: ID!) { resource(id: $id) { vmid } }`, { id: toGlobalId('Guest', g!.id) }, bob);
    expect(r.body.data.resource.vmid).toBe(g!.vmid);
    const [ev] = await h
      .em()
      .execute(
        `SELECT event FROM audit_inbox WHERE event->>'action' LIKE 'assignment.%' ORDER BY observed_at DESC LIMIT 1`,
      );
    expect(ev!.event.tenantIds.sort()).toEqual([s.tenantA, s.tenantB].sort());
    // unassigning the guest-level assignment lets the pool assignment (tenant A) apply again
    const un = await h.gql(`mutation($id: ID!) { unassign(id: $id) }`, { id: res.body.data.assign }, admin);
    expect(un.body.data.unassign).toBe(true);
    const [back] = await h.em().execute(`SELECT tenant_id FROM guest WHERE id = ?`, [g!.id]);
    expect(back).toEqual({ tenant_id: s.tenantA });
  });
});

describe('memberships (Tenant Admin)', () => {
  it('grants and revokes a member’s privileges in the active tenant only', async () => {
    const alice = await loginHeaders(h, 'alice', s.password, s.tenantA);
    const carol = await loginHeaders(h, 'carol', s.password, s.tenantA);
    const list = `{ resources(first: 1) { edges { node { id } } } }`;
    expect((await h.gql(list, {}, carol)).body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const set = await h.gql(
      `mutation { setMembership(username: "carol", role: "tenant_user", privileges: ["VM.Audit"]) { tenantId role privileges } }`,
      {},
      alice,
    );
    expect(set.body.data.setMembership).toEqual({ tenantId: s.tenantA, role: 'tenant_user', privileges: ['VM.Audit'] });
    expect((await h.gql(list, {}, carol)).body.errors).toBeUndefined();
    const unknown = await h.gql(
      `mutation { setMembership(username: "nobody", role: "tenant_user", privileges: []) { role } }`,
      {},
      alice,
    );
    expect(unknown.body.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const bad = await h.gql(
      `mutation { setMembership(username: "carol", role: "tenant_user", privileges: ["rm -rf"]) { role } }`,
      {},
      alice,
    );
    expect(bad.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const bob = await loginHeaders(h, 'bob', s.password, s.tenantB);
    expect(
      (await h.gql(`mutation { removeMembership(username: "carol") }`, {}, bob)).body.errors?.[0]?.extensions?.code,
    ).toBe('FORBIDDEN');
    const members = await h.gql(`{ members { username role privileges } }`, {}, alice);
    expect(members.body.data.members).toEqual([
      { username: 'alice', role: 'tenant_admin', privileges: [] },
      { username: 'carol', role: 'tenant_user', privileges: ['VM.Audit'] },
      { username: 'dave', role: 'tenant_user', privileges: ['VM.Audit'] },
    ]);
    expect((await h.gql(`{ members { username } }`, {}, carol)).body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(
      (await h.gql(`mutation { removeMembership(username: "carol") }`, {}, alice)).body.data.removeMembership,
    ).toBe(true);
    expect((await h.gql(list, {}, carol)).body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });
});

describe('tenants (Portal Admin)', () => {
  it('creates, locks (members lose access) and deletes a tenant', async () => {
    const created = await h.gql(`mutation { createTenant(slug: "umbrella", name: "Umbrella") { id slug } }`, {}, admin);
    expect(created.body.data.createTenant.slug).toBe('umbrella');
    const dup = await h.gql(`mutation { createTenant(slug: "umbrella", name: "Again") { id } }`, {}, admin);
    expect(dup.body.errors?.[0]?.extensions?.code).toBe('CONFLICT');
    const bob = await loginHeaders(h, 'bob', s.password, s.tenantB);
    await h.gql(
      `mutation($id: ID!) { updateTenant(id: $id, locked: true) { locked } }`,
      { id: toGlobalId('Tenant', s.tenantB) },
      admin,
    );
    expect((await h.gql(`{ resources { edges { node { id } } } }`, {}, bob)).body.errors?.[0]?.extensions?.code).toBe(
      'FORBIDDEN',
    );
    await h.gql(
      `mutation($id: ID!) { updateTenant(id: $id, locked: false) { locked } }`,
      { id: toGlobalId('Tenant', s.tenantB) },
      admin,
    );
    expect((await h.gql(`{ resources { edges { node { id } } } }`, {}, bob)).body.errors).toBeUndefined();
    const del = await h.gql(
      `mutation($id: ID!) { deleteTenant(id: $id) }`,
      { id: created.body.data.createTenant.id },
      admin,
    );
    expect(del.body.data.deleteTenant).toBe(true);
    const tenants = await h.gql(`{ tenants { slug } }`, {}, admin);
    expect(tenants.body.data.tenants.map((t: any) => t.slug)).toEqual(['acme', 'globex']);
  });
});

// Regression (username enumeration): setMembership answered NOT_FOUND for an unknown username but
// succeeded for any existing account of another tenant, so a Tenant Admin could probe which
// usernames exist. Both must now answer identically, be audited, and change nothing.
describe('regression: setMembership username enumeration', () => {
  it('answers an unknown and a foreign username identically (audited NOT_FOUND) and adds no membership', async () => {
    const alice = await loginHeaders(h, 'alice', s.password, s.tenantA);
    const set = (username: string) =>
      h.gql(
        `mutation($u: String!) { setMembership(username: $u, role: "tenant_user", privileges: ["VM.Audit"]) { role } }`,
        { u: username },
        alice,
      );
    const foreign = await set('bob'); // exists, member of B only
    const unknown = await set('nobody-such-user');
    expect(foreign.body.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    expect(foreign.status).toBe(unknown.status);
    expect(foreign.body).toEqual(unknown.body);
    const [bobInA] = await h
      .em()
      .execute(`SELECT 1 FROM membership WHERE user_id = ? AND tenant_id = ?`, [s.users.bob, s.tenantA]);
    expect(bobInA).toBeUndefined();
    const audited = await h
      .em()
      .execute<Array<{ id: string }>>(
        `SELECT event->'target'->>'id' AS id FROM audit_inbox WHERE event->>'action' = 'access.not_found' AND event->'target'->>'type' = 'User'`,
      );
    expect(audited.map((a) => a.id)).toEqual(expect.arrayContaining(['bob', 'nobody-such-user']));
    // A Portal Admin still adds accounts from outside the tenant.
    const admin = await loginHeaders(h, 'admin', s.password, s.tenantA);
    const added = await h.gql(
      `mutation { setMembership(username: "bob", role: "tenant_user", privileges: []) { tenantId } }`,
      {},
      admin,
    );
    expect(added.body.data?.setMembership).toEqual({ tenantId: s.tenantA });
    expect((await h.gql(`mutation { removeMembership(username: "bob") }`, {}, admin)).body.data?.removeMembership).toBe(
      true,
    );
  });
});
