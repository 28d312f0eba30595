// Tamper detection against real Postgres: one test per tamper class, each raising AUDIT-001. The
// tampering bypasses the insert-only trigger the way an attacker with superuser access would
// (session_replication_role).
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { readFile, writeFile, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseBundle, serializeBundle, verifyBundle } from '@tenantgate/audit-core';
import { assign, event, fixture, insertEvents, setupEnv, testSigningKey, type Env } from './test-support.ts';
import { verifyChains } from './verifier.ts';
import { exportBundle } from './exporter.ts';
import { pruneChain, redactRecord } from './maintenance.ts';
import type { AuditorService } from './auditor.ts';
import { seedStarterRules } from './alerts/seed.ts';

let env: Env;
let tenant: string;
let conn: string;
let svc: AuditorService;

beforeAll(async () => {
  env = await setupEnv('auditinteg');
  const f = await fixture(env.db, ['tamper']);
  tenant = f.tenants[0]!;
  conn = f.connectionId;
  await assign(env.db, { tenantId: tenant, connectionId: conn, kind: 'connection' });
  svc = env.newService({ checkpointEveryRecords: 5, batchSize: 5 });
  await seedStarterRules(env.db);
});
afterAll(async () => await env.close());

/** A fresh chain of 20 records (checkpoints at 5, 10, 15, 20) for each test. */
beforeEach(async () => {
  await env.db.query(`SET session_replication_role = replica`);
  await env.db.query(
    `DELETE FROM audit_record; DELETE FROM audit_checkpoint; DELETE FROM alert_event; DELETE FROM alert; DELETE FROM audit_chain; DELETE FROM audit_inbox`,
  );
  await env.db.query(`SET session_replication_role = origin`);
  const base = Date.parse('2026-11-10T00:00:00.000Z');
  await insertEvents(
    env.db,
    Array.from({ length: 20 }, (_, i) =>
      event({
        connectionId: conn,
        occurredAt: new Date(base + i * 60_000).toISOString(),
        payload: { i, secret: `card-${i}` },
      }),
    ),
  );
  await svc.drainNow();
});

async function tamper(sql: string, params: unknown[] = []): Promise<void> {
  const c = await env.db.connect();
  try {
    await c.query(`SET session_replication_role = replica`);
    await c.query(sql, params);
  } finally {
    await c.query(`SET session_replication_role = origin`);
    c.release();
  }
}

/**
 * Verifies the tenant's chain the way the service and the CLI do (raising AUDIT-001 on failure),
 * checks that a failing chain — and only a failing one — got its critical AUDIT-001 alert, and
 * returns the finding codes.
 */
async function codes(): Promise<string[]> {
  const [r] = await verifyChains(env.db, { chainId: tenant, publicKeys: [env.key.publicKey], raiseAlert: true });
  await svc.drainNow();
  const raised = await env.db.query<{ state: string; severity: string }>(
    `SELECT a.state, a.severity FROM alert a JOIN alert_rule r ON r.id = a.rule_id WHERE r.code = 'AUDIT-001' AND a.tenant_id = $1`,
    [tenant],
  );
  expect(raised.rows).toEqual(r!.ok ? [] : [{ state: 'firing', severity: 'critical' }]);
  return [...new Set(r!.findings.map((f) => f.code))].sort();
}

describe('insert-only enforcement (SQL level)', () => {
  it('refuses UPDATE and DELETE on audit_record and audit_checkpoint', async () => {
    await expect(env.db.query(`UPDATE audit_record SET action = 'x.y' WHERE seq = 1`)).rejects.toThrow(/insert-only/);
    await expect(env.db.query(`DELETE FROM audit_record WHERE seq = 1`)).rejects.toThrow(/insert-only/);
    await expect(env.db.query(`UPDATE audit_checkpoint SET seq = seq`)).rejects.toThrow(/insert-only/);
    await expect(env.db.query(`DELETE FROM audit_checkpoint`)).rejects.toThrow(/insert-only/);
    // the redaction flag allows removing a payload, nothing else
    const c = await env.db.connect();
    try {
      await c.query('BEGIN');
      await c.query(`SELECT set_config('tenantgate.audit_redaction', 'on', true)`);
      await expect(c.query(`UPDATE audit_record SET action = 'x.y', payload = NULL WHERE seq = 1`)).rejects.toThrow(
        /insert-only/,
      );
      await c.query('ROLLBACK');
    } finally {
      c.release();
    }
  });
});

describe('tamper classes', () => {
  it('intact chain verifies', async () => {
    expect(await codes()).toEqual([]);
  });

  it('edited record', async () => {
    await tamper(`UPDATE audit_record SET actor_id = 'mallory@pve' WHERE chain_id = $1 AND seq = 7`, [tenant]);
    expect(await codes()).toEqual(['RECORD_HASH_MISMATCH']);
  });

  it('edited payload', async () => {
    await tamper(`UPDATE audit_record SET payload = '{"i": 7, "secret": "changed"}' WHERE chain_id = $1 AND seq = 8`, [
      tenant,
    ]);
    expect(await codes()).toEqual(['PAYLOAD_DIGEST_MISMATCH']);
  });

  it('deleted record', async () => {
    await tamper(`DELETE FROM audit_record WHERE chain_id = $1 AND seq = 9`, [tenant]);
    expect(await codes()).toEqual(['SEQ_GAP']);
  });

  it('reordered records', async () => {
    await tamper(
      `UPDATE audit_record SET seq = CASE seq WHEN 11 THEN -12 ELSE -11 END WHERE chain_id = $1 AND seq IN (11, 12);
       UPDATE audit_record SET seq = -seq WHERE chain_id = $1 AND seq < 0`.replaceAll('$1', `'${tenant}'`),
    );
    expect(await codes()).toEqual(expect.arrayContaining(['RECORD_HASH_MISMATCH']));
  });

  it('inserted record', async () => {
    await tamper(`UPDATE audit_record SET seq = seq + 1000 WHERE chain_id = $1 AND seq > 13`, [tenant]);
    await tamper(`UPDATE audit_record SET seq = seq - 999 WHERE chain_id = $1 AND seq > 1000`, [tenant]);
    await tamper(
      `INSERT INTO audit_record SELECT chain_id, 14, gen_random_uuid(), 'forged', tenant_id, occurred_at, observed_at, recorded_at, source, category,
         action, outcome, actor_type, actor_id, actor_principal, src_ip, connection_id, node, target_type, target_id, target_name, target_path,
         upid, request_id, detection, payload, payload_digest, redacted_at, record_hash, record_hash
       FROM audit_record WHERE chain_id = $1 AND seq = 13`,
      [tenant],
    );
    const c = await codes();
    expect(c).toEqual(expect.arrayContaining(['RECORD_HASH_MISMATCH']));
  });

  it('truncation before the last checkpoint', async () => {
    await tamper(`DELETE FROM audit_record WHERE chain_id = $1 AND seq > 12`, [tenant]);
    await tamper(
      `UPDATE audit_chain SET head_seq = 12, head_hash = (SELECT record_hash FROM audit_record WHERE chain_id = $1 AND seq = 12) WHERE chain_id = $1`,
      [tenant],
    );
    expect(await codes()).toEqual(['CHAIN_TRUNCATED']);
  });

  it('forged checkpoint', async () => {
    await tamper(
      `UPDATE audit_checkpoint SET head_hash = (SELECT record_hash FROM audit_record WHERE chain_id = $1 AND seq = 11) , seq = 11 WHERE chain_id = $1 AND seq = 10`,
      [tenant],
    );
    expect(await codes()).toEqual(expect.arrayContaining(['CHECKPOINT_SIGNATURE_INVALID']));
    // re-signed with a key the verifier does not trust
    const [r] = await verifyChains(env.db, { chainId: tenant, publicKeys: [testSigningKey().publicKey] });
    expect(r!.findings.map((f) => f.code)).toContain('CHECKPOINT_UNKNOWN_KEY');
  });

  it('broken checkpoint chain', async () => {
    await tamper(`DELETE FROM audit_checkpoint WHERE chain_id = $1 AND seq = 10`, [tenant]);
    expect(await codes()).toEqual(['CHECKPOINT_CHAIN_BROKEN']);
  });

  it('a failure raises AUDIT-001 for the tenant', async () => {
    await tamper(`UPDATE audit_record SET outcome = 'failure' WHERE chain_id = $1 AND seq = 3`, [tenant]);
    const reports = await verifyChains(env.db, { chainId: tenant, publicKeys: [env.key.publicKey], raiseAlert: true });
    expect(reports[0]!.ok).toBe(false);
    await svc.drainNow();
    const a = await env.db.query<{ code: string; state: string; tenant_id: string }>(
      `SELECT r.code, a.state, a.tenant_id FROM alert a JOIN alert_rule r ON r.id = a.rule_id WHERE r.code = 'AUDIT-001'`,
    );
    expect(a.rows).toEqual([{ code: 'AUDIT-001', state: 'firing', tenant_id: tenant }]);
  });
});

describe('regression: AUDIT-001 was lost when the tampered chain could not take the verification event', () => {
  it('opens the alert directly; the event that cannot be chained is quarantined, not dropped', async () => {
    // a head moved back one record: appending seq 20 again collides, so the chained
    // audit.verification_failed event (the only way AUDIT-001 used to fire) never lands
    await tamper(
      `UPDATE audit_chain SET head_seq = 19, head_hash = (SELECT record_hash FROM audit_record WHERE chain_id = $1 AND seq = 19) WHERE chain_id = $1`,
      [tenant],
    );
    expect(await codes()).toContain('HEAD_MISMATCH'); // codes() asserts the critical AUDIT-001 alert
    const chained = await env.db.query(
      `SELECT 1 FROM audit_record WHERE chain_id = $1 AND action = 'audit.verification_failed'`,
      [tenant],
    );
    expect(chained.rowCount).toBe(0);
    // retried, then quarantined on the provider chain (poisonMaxAttempts 3, no retry delay here)
    for (let i = 0; i < 3; i++) await svc.drainNow();
    const quarantined = await env.db.query<{ chain_id: string }>(
      `SELECT chain_id FROM audit_record WHERE action = 'audit.invalid_event' AND dedup_key LIKE 'audit-verify:%'`,
    );
    expect(quarantined.rows).toEqual([{ chain_id: 'provider' }]);
  });
});

describe('redaction and retention', () => {
  it('redacts a payload without breaking the chain, and audits it', async () => {
    expect(await redactRecord(env.db, { chainId: tenant, seq: 4, reason: 'GDPR request 17', actor: null })).toBe(true);
    const r = await env.db.query<{ payload: unknown; redacted_at: Date | null }>(
      `SELECT payload, redacted_at FROM audit_record WHERE chain_id = $1 AND seq = 4`,
      [tenant],
    );
    expect(r.rows[0]!.payload).toBeNull();
    expect(r.rows[0]!.redacted_at).not.toBeNull();
    await svc.drainNow();
    const [report] = await verifyChains(env.db, { chainId: tenant, publicKeys: [env.key.publicKey] });
    expect(report!.findings).toEqual([]);
    expect(report!.redactedRecords).toBe(1);
    const audit = await env.db.query(
      `SELECT payload FROM audit_record WHERE chain_id = $1 AND action = 'audit.payload_redacted'`,
      [tenant],
    );
    expect(audit.rows[0]!.payload).toMatchObject({ seq: 4, reason: 'GDPR request 17' });
  });

  it('prunes only whole checkpointed ranges and audits itself', async () => {
    // records 1..20 were recorded "now"; prune everything recorded before a future cutoff
    const res = await pruneChain(env.db, { chainId: tenant, before: new Date(Date.now() + 60_000), actor: null });
    expect(res).toEqual({ prunedThroughSeq: 20, deleted: 20 });
    await insertEvents(env.db, [event({ connectionId: conn })]);
    await svc.drainNow();
    const [report] = await verifyChains(env.db, { chainId: tenant, publicKeys: [env.key.publicKey] });
    expect(report!.findings).toEqual([]);
    expect(report!.firstSeq).toBe(21);
    const audit = await env.db.query(
      `SELECT payload FROM audit_record WHERE chain_id = $1 AND action = 'audit.retention_pruned'`,
      [tenant],
    );
    expect(audit.rows[0]!.payload).toMatchObject({ throughSeq: 20, deleted: 20 });
  });

  it('does not prune a range that is not checkpointed', async () => {
    await insertEvents(env.db, [event({ connectionId: conn }), event({ connectionId: conn })]);
    await svc.drainNow(); // 22 records, checkpoint at 20
    const res = await pruneChain(env.db, { chainId: tenant, before: new Date(Date.now() + 60_000), actor: null });
    expect(res.prunedThroughSeq).toBe(20);
    const left = await env.db.query<{ seq: string }>(`SELECT seq FROM audit_record WHERE chain_id = $1 ORDER BY seq`, [
      tenant,
    ]);
    expect(left.rows.map((r) => Number(r.seq))).toEqual([21, 22]);
  });
});

describe('compliance export', () => {
  it('exports JSONL and CSV bundles that verify offline and detect edits', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tg-export-'));
    const bundle = await exportBundle(env.db, {
      chainId: tenant,
      from: new Date('2026-11-10T00:05:00.000Z'),
      to: new Date('2026-11-10T00:08:00.000Z'),
      publicKeys: [env.key.publicKey],
      exportedBy: 'test',
    });
    expect(bundle.verification?.ok).toBe(true);
    expect(bundle.verification?.selectedRecords).toBe(3);
    expect(bundle.header.fromSeq).toBe(6); // anchored on checkpoint 5
    expect(bundle.header.toSeq).toBe(10); // covered by checkpoint 10
    for (const format of ['jsonl', 'csv'] as const) {
      const file = join(dir, `b.${format}`);
      await writeFile(file, serializeBundle(bundle, format));
      const text = await readFile(file, 'utf8');
      const ok = verifyBundle(parseBundle(text), { trustedKeys: [env.key.publicKey] });
      expect(ok.ok).toBe(true);
      const bad = verifyBundle(parseBundle(text.replace('card-6', 'card-X')), { trustedKeys: [env.key.publicKey] });
      expect(bad.ok).toBe(false);
    }
    await svc.drainNow();
    const logged = await env.db.query(`SELECT 1 FROM audit_record WHERE chain_id = $1 AND action = 'audit.exported'`, [
      tenant,
    ]);
    expect(logged.rowCount).toBe(1);
  });
});
