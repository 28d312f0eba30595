import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, testRedisUrl, uniquePrefix, type TestDatabase } from '@tenantgate/testing';
import { loginHeaders, seed, startHarness, type Harness, type Seed } from './testing/harness.ts';

let db: TestDatabase;
let h: Harness;
let s: Seed;

beforeAll(async () => {
  db = await createTestDatabase('gateway_compliance');
  h = await startHarness(db.url, testRedisUrl(), uniquePrefix('gwc'));
  s = await seed(h.em());
  await h
    .em()
    .execute(
      `INSERT INTO audit_checkpoint (chain_id, seq, head_hash, created_at, key_id, signature) VALUES (?, 3, '\\x0a0b', now(), 'k1', '\\x0c0d')`,
      [s.tenantA],
    );
});

afterAll(async () => {
  await h?.close();
  await db?.drop();
});

describe('auditExport', () => {
  it('exports the active tenant chain as JSONL with its covering checkpoint, and audits the export', async () => {
    const alice = await loginHeaders(h, 'alice', s.password, s.tenantA);
    const res = await h.gql(
      `{ auditExport(format: JSONL) { format records truncated data checkpoints { seq headHash keyId } } }`,
      {},
      alice,
    );
    expect(res.body.errors).toBeUndefined();
    const exp = res.body.data.auditExport;
    expect(exp).toMatchObject({
      format: 'JSONL',
      records: 3,
      truncated: false,
      checkpoints: [{ seq: '3', headHash: '0a0b', keyId: 'k1' }],
    });
    // an audit-core bundle: header, covering checkpoint, the records in seq order, verification report
    const lines = exp.data
      .trim()
      .split('\n')
      .map((l: string) => JSON.parse(l));
    expect(lines.map((l: any) => l.type)).toEqual([
      'header',
      'checkpoint',
      'record',
      'record',
      'record',
      'verification',
    ]);
    expect(lines.filter((l: any) => l.type === 'record').map((l: any) => l.seq)).toEqual([1, 2, 3]);
    expect(lines.every((l: any) => l.type === 'verification' || l.chainId === s.tenantA)).toBe(true);
    // the seeded records carry placeholder hashes: the report says so instead of vouching for them
    expect(lines.at(-1).ok).toBe(false);
    const audited = await h.em().execute(`SELECT event FROM audit_inbox WHERE event->>'action' = 'audit.exported'`);
    expect(audited).toHaveLength(1);
    expect(audited[0]!.event.tenantIds).toEqual([s.tenantA]);
  });

  it('exports CSV bundles and refuses filters other than a time range', async () => {
    const alice = await loginHeaders(h, 'alice', s.password, s.tenantA);
    const csv = await h.gql(`{ auditExport(format: CSV) { records data } }`, {}, alice);
    expect(csv.body.errors).toBeUndefined();
    expect(csv.body.data.auditExport.data).toMatch(/^#tenantgate-audit-bundle /);
    const res = await h.gql(`{ auditExport(format: CSV, filter: { action: "x.y" }) { records data } }`, {}, alice);
    expect(res.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('is refused to a tenant user without Sys.Audit (who may read the log), and the provider chain to tenant admins', async () => {
    const dave = await loginHeaders(h, 'dave', s.password, s.tenantA);
    expect((await h.gql(`{ auditExport { records } }`, {}, dave)).body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect((await h.gql(`{ auditLog { edges { node { chainId } } } }`, {}, dave)).body.errors).toBeUndefined();
    const alice = await loginHeaders(h, 'alice', s.password, s.tenantA);
    expect(
      (await h.gql(`{ auditExport(filter: { provider: true }) { records } }`, {}, alice)).body.errors?.[0]?.extensions
        ?.code,
    ).toBe('FORBIDDEN');
  });

  it('audits reads of the audit log', async () => {
    const alice = await loginHeaders(h, 'alice', s.password, s.tenantA);
    const before = await h
      .em()
      .execute(`SELECT count(*)::int AS n FROM audit_inbox WHERE event->>'action' = 'audit.read'`);
    await h.gql(`{ auditLog(first: 1) { edges { node { seq } } } }`, {}, alice);
    const after = await h
      .em()
      .execute(`SELECT count(*)::int AS n FROM audit_inbox WHERE event->>'action' = 'audit.read'`);
    expect(after[0]!.n).toBe(before[0]!.n + 1);
  });
});

describe('alert rules (Tenant Admin)', () => {
  it('creates, updates and deletes a tenant rule of a known kind; built-ins stay read-only', async () => {
    const alice = await loginHeaders(h, 'alice', s.password, s.tenantA);
    const created = await h.gql(
      `mutation($i: AlertRuleInput!) { createAlertRule(input: $i) { id code kind severity builtin params } }`,
      {
        i: {
          code: 'ACME-001',
          kind: 'brute-force',
          name: 'Stricter brute force',
          severity: 'critical',
          params: { threshold: 3 },
        },
      },
      alice,
    );
    expect(created.body.errors).toBeUndefined();
    expect(created.body.data.createAlertRule).toMatchObject({
      code: 'ACME-001',
      builtin: false,
      params: { threshold: 3 },
    });
    const id = created.body.data.createAlertRule.id;
    const unknownKind = await h.gql(
      `mutation { createAlertRule(input: { code: "ACME-002", kind: "nope", name: "n", severity: "low" }) { id } }`,
      {},
      alice,
    );
    expect(unknownKind.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const updated = await h.gql(
      `mutation($id: ID!) { updateAlertRule(id: $id, input: { enabled: false, severity: "high" }) { enabled severity } }`,
      { id },
      alice,
    );
    expect(updated.body.data.updateAlertRule).toEqual({ enabled: false, severity: 'high' });
    const rules = await h.gql(`{ alertRules { code builtin } }`, {}, alice);
    expect(rules.body.data.alertRules).toEqual([
      { code: 'AUTH-001', builtin: true },
      { code: 'ACME-001', builtin: false },
    ]);
    // B cannot see or touch A's rule; the built-in rule cannot be deleted by a tenant
    const bobAdmin = await loginHeaders(h, 'bob', s.password, s.tenantB);
    await h.em().execute(`UPDATE membership SET role = 'tenant_admin' WHERE user_id = ?`, [s.users.bob]);
    const bobRules = await h.gql(`{ alertRules { code } }`, {}, bobAdmin);
    expect(bobRules.body.data.alertRules).toEqual([{ code: 'AUTH-001' }]);
    const bobDelete = await h.gql(`mutation($id: ID!) { deleteAlertRule(id: $id) }`, { id }, bobAdmin);
    expect(bobDelete.body.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const [builtin] = await h.em().execute<Array<{ id: string }>>(`SELECT id FROM alert_rule WHERE tenant_id IS NULL`);
    const { toGlobalId } = await import('./graphql/relay.ts');
    const delBuiltin = await h.gql(
      `mutation($id: ID!) { deleteAlertRule(id: $id) }`,
      { id: toGlobalId('AlertRule', builtin!.id) },
      alice,
    );
    expect(delBuiltin.body.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    expect(
      (await h.gql(`mutation($id: ID!) { deleteAlertRule(id: $id) }`, { id }, alice)).body.data.deleteAlertRule,
    ).toBe(true);
  });
});
