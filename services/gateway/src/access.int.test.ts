import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, testRedisUrl, uniquePrefix, type TestDatabase } from '@tenantgate/testing';
import { loginHeaders, seed, startHarness, type Harness, type Seed } from './testing/harness.ts';
import { toGlobalId } from './graphql/relay.ts';

// accessReview and hygieneFindings over a mirrored PVE access configuration (the rows pve-sync
// writes into pve_access_snapshot), evaluated by @tenantgate/pve-access.
let db: TestDatabase;
let h: Harness;
let s: Seed;

beforeAll(async () => {
  db = await createTestDatabase('gateway_access');
  h = await startHarness(db.url, testRedisUrl(), uniquePrefix('gwx'));
  s = await seed(h.em());
  const snapshot: Record<string, unknown> = {
    users: {
      'root@pam': { enable: true, expire: 0, groups: [] },
      'ops@pve': { enable: true, expire: 0, groups: ['ops'] },
      'old@pve': { enable: false, expire: 0, groups: [] },
      'ci@pve': { enable: true, expire: 0, groups: [] },
    },
    tokens: {
      'ci@pve!deploy': { privsep: false, expire: 0 },
      'ops@pve!ro': { privsep: true, expire: 2_000_000_000 },
    },
    groups: { ops: { users: ['ops@pve'] } },
    roles: { VMOps: { privs: ['VM.Audit', 'VM.PowerMgmt'], special: false } },
    acl: {
      a: { path: '/vms/100', type: 'group', ugid: 'ops', roleid: 'VMOps', propagate: 1 },
      b: { path: '/', type: 'user', ugid: 'ci@pve', roleid: 'Administrator', propagate: 1 },
      c: { path: '/pool/acme', type: 'user', ugid: 'old@pve', roleid: 'PVEVMUser', propagate: 1 },
    },
    pools: { acme: {}, globex: {} },
  };
  for (const [kind, data] of Object.entries(snapshot)) {
    await h
      .em()
      .execute(`INSERT INTO pve_access_snapshot (connection_id, kind, digest, data) VALUES (?, ?, 'd', ?::jsonb)`, [
        s.connectionId,
        kind,
        JSON.stringify(data),
      ]);
  }
  await h.em().execute(
    `INSERT INTO audit_record (chain_id, seq, event_id, dedup_key, tenant_id, occurred_at, observed_at, recorded_at, source, category, action, outcome,
       actor_type, actor_id, actor_principal, connection_id, detection, payload_digest, prev_hash, record_hash)
     VALUES ('provider', 9, gen_random_uuid(), 'login-ops', NULL, now() - interval '1 day', now(), now(), 'pve.cluster-log', 'auth', 'auth.login_succeeded', 'success',
       'pve-user', 'ops@pve', 'ops@pve', ?, 'reported', '\\x00', '\\x00', '\\x09')`,
    [s.connectionId],
  );
});

afterAll(async () => {
  await h?.close();
  await db?.drop();
});

const REVIEW = `query($id: ID!) { accessReview(resourceId: $id) {
  resource { vmid } portal { username role privileges } pve { subject kind privileges canAuthenticate explanation } snapshotAt } }`;

describe('accessReview', () => {
  it('lists portal users and PVE identities that can act on the guest, with explanations', async () => {
    const alice = await loginHeaders(h, 'alice', s.password, s.tenantA);
    const res = await h.gql(REVIEW, { id: toGlobalId('Guest', s.guestsA[0]!) }, alice);
    expect(res.body.errors).toBeUndefined();
    const review = res.body.data.accessReview;
    expect(review.resource.vmid).toBe(100);
    expect(review.snapshotAt).not.toBeNull();
    const portal = Object.fromEntries(review.portal.map((p: any) => [p.username, p]));
    expect(Object.keys(portal).sort()).toEqual(['admin', 'alice', 'dave']);
    expect(portal.alice.role).toBe('tenant_admin');
    expect(portal.dave.privileges).toEqual(['VM.Audit']);
    const pve = Object.fromEntries(review.pve.map((p: any) => [p.subject, p]));
    expect(Object.keys(pve).sort()).toEqual(['ci@pve', 'ci@pve!deploy', 'old@pve', 'ops@pve', 'root@pam']);
    expect(pve['ops@pve'].privileges).toEqual(['VM.Audit', 'VM.PowerMgmt']);
    expect(pve['ops@pve'].explanation.join(' ')).toMatch(/ops/);
    expect(pve['old@pve'].canAuthenticate).toBe(false);
    expect(pve['ci@pve!deploy'].privileges).toContain('Sys.Modify');
  });

  it('is for tenant admins of the guest’s tenant only', async () => {
    const dave = await loginHeaders(h, 'dave', s.password, s.tenantA);
    expect(
      (await h.gql(REVIEW, { id: toGlobalId('Guest', s.guestsA[0]!) }, dave)).body.errors?.[0]?.extensions?.code,
    ).toBe('FORBIDDEN');
    const alice = await loginHeaders(h, 'alice', s.password, s.tenantA);
    expect(
      (await h.gql(REVIEW, { id: toGlobalId('Guest', s.guestsB[0]!) }, alice)).body.errors?.[0]?.extensions?.code,
    ).toBe('NOT_FOUND');
  });
});

describe('hygieneFindings', () => {
  it('regression: reports the engine findings pve-sync events carry (ADMIN_ON_ROOT was ADMINISTRATOR_ON_ROOT here)', async () => {
    const auditor = await loginHeaders(h, 'auditor', s.password);
    const res = await h.gql(`{ hygieneFindings { connection code severity subject } }`, {}, auditor);
    expect(res.body.errors).toBeUndefined();
    const found = res.body.data.hygieneFindings.map((f: any) => `${f.code} ${f.subject}`).sort();
    expect(found).toEqual(
      [
        'ADMIN_ON_ROOT ci@pve',
        'DISABLED_USER_GRANTED old@pve',
        'TOKEN_NO_EXPIRY ci@pve!deploy',
        'TOKEN_PRIVSEP_OFF ci@pve!deploy',
        'USER_UNUSED_90D ci@pve',
      ].sort(),
    );
    expect(res.body.data.hygieneFindings.every((f: any) => f.connection === 'pve1')).toBe(true);
    const alice = await loginHeaders(h, 'alice', s.password, s.tenantA);
    expect((await h.gql(`{ hygieneFindings { code } }`, {}, alice)).body.errors?.[0]?.extensions?.code).toBe(
      'FORBIDDEN',
    );
  });
});
