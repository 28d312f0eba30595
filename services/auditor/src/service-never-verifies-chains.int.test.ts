// Regression (issue 6.2): the service never verified chains on its own — a tampered chain stayed
// unnoticed until someone ran the CLI. Now a periodic, incremental verifier raises AUDIT-001.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assign, event, fixture, insertEvents, setupEnv, type Env } from './test-support.ts';
import { seedStarterRules } from './alerts/seed.ts';
import type { AuditorService } from './auditor.ts';

let env: Env;
let tenant: string;
let conn: string;
let svc: AuditorService;

beforeAll(async () => {
  env = await setupEnv('auditperiodic');
  const f = await fixture(env.db, ['periodic']);
  tenant = f.tenants[0]!;
  conn = f.connectionId;
  await assign(env.db, { tenantId: tenant, connectionId: conn, kind: 'connection' });
  await seedStarterRules(env.db);
  svc = env.newService({ checkpointEveryRecords: 5, batchSize: 5 });
});
afterAll(async () => await env.close());

async function append(n: number): Promise<void> {
  await insertEvents(
    env.db,
    Array.from({ length: n }, (_, i) => event({ connectionId: conn, payload: { i } })),
  );
  await svc.drainNow();
}

/** Edits a record as the database superuser would, with the insert-only trigger disabled. */
async function tamper(sql: string, params: unknown[]): Promise<void> {
  const c = await env.db.connect();
  try {
    await c.query('BEGIN');
    await c.query('ALTER TABLE audit_record DISABLE TRIGGER audit_record_guard');
    await c.query(sql, params);
    await c.query('ALTER TABLE audit_record ENABLE TRIGGER audit_record_guard');
    await c.query('COMMIT');
  } finally {
    c.release();
  }
}

async function audit001(): Promise<Array<{ state: string; dedup_key: string; tenant_id: string | null }>> {
  const r = await env.db.query<{ state: string; dedup_key: string; tenant_id: string | null }>(
    `SELECT a.state, a.dedup_key, a.tenant_id FROM alert a JOIN alert_rule r ON r.id = a.rule_id WHERE r.code = 'AUDIT-001'`,
  );
  return r.rows;
}

describe('periodic verification is incremental', () => {
  it('verifies from the last verified checkpoint, not from genesis', async () => {
    await append(12); // batches of 5: checkpoints at 5 and 10
    const first = await svc.verifyNow();
    expect(first!.failed).toEqual([]);
    const mine = () =>
      env.db.query<{ checkpoint_seq: string }>(`SELECT checkpoint_seq FROM audit_verify_state WHERE chain_id = $1`, [
        tenant,
      ]);
    expect((await mine()).rows[0]!.checkpoint_seq).toBe('10');
    await append(5); // 13..17, checkpoint at 17
    const second = await svc.verifyNow();
    const report = second!.reports.find((r) => r.chainId === tenant)!;
    expect(report.ok).toBe(true);
    expect(report.firstSeq).toBe(11);
    expect(report.recordsChecked).toBe(7);
    expect((await mine()).rows[0]!.checkpoint_seq).toBe('17');
  });

  it('still notices an edit of the record its anchor checkpoint signed', async () => {
    await tamper(`UPDATE audit_record SET node = 'forged' WHERE chain_id = $1 AND seq = 17`, [tenant]);
    const run = await svc.verifyNow();
    const report = run!.reports.find((r) => r.chainId === tenant)!;
    expect(report.findings.map((f) => f.code)).toContain('RECORD_HASH_MISMATCH');
    await tamper(`UPDATE audit_record SET node = NULL WHERE chain_id = $1 AND seq = 17`, [tenant]);
    expect((await svc.verifyNow())!.failed).toEqual([]);
    // that run raised AUDIT-001 (checked in the next test's setting too); reset for it
    await env.db.query(`SET session_replication_role = replica`);
    await env.db.query(`DELETE FROM alert_event; DELETE FROM alert`);
    await env.db.query(`SET session_replication_role = origin`);
  });
});

describe('regression: the service never verified chains on its own', () => {
  it('a running service raises AUDIT-001 for a tampered record without the CLI, once, and never resolves it', async () => {
    await append(3); // after the last verified checkpoint (17)
    const head = await env.db.query<{ head_seq: string }>(`SELECT head_seq FROM audit_chain WHERE chain_id = $1`, [
      tenant,
    ]);
    const victim = Number(head.rows[0]!.head_seq) - 1;
    const running = env.newService({ sweepIntervalMs: 50, verifyIntervalMs: 50, monitorIntervalMs: 50 });
    await running.start();
    try {
      await tamper(`UPDATE audit_record SET action = 'task.qmstop' WHERE chain_id = $1 AND seq = $2`, [tenant, victim]);
      for (let i = 0; i < 400 && (await audit001()).length === 0; i++) await new Promise((r) => setTimeout(r, 25));
      expect(await audit001()).toEqual([{ state: 'firing', dedup_key: `chain:${tenant}`, tenant_id: tenant }]);
      // further runs: still firing (never auto-resolves), the same findings are not raised again
      const runs = await env.db.query<{ verified_at: Date | null; failed_at: Date }>(
        `SELECT verified_at, failed_at FROM audit_verify_state WHERE chain_id = $1`,
        [tenant],
      );
      const failedAt = runs.rows[0]!.failed_at.getTime();
      for (let i = 0; i < 400; i++) {
        const again = await env.db.query<{ failed_at: Date }>(
          `SELECT failed_at FROM audit_verify_state WHERE chain_id = $1`,
          [tenant],
        );
        if (again.rows[0]!.failed_at.getTime() > failedAt) break;
        await new Promise((r) => setTimeout(r, 25));
      }
      await running.drainNow();
      expect(await audit001()).toEqual([{ state: 'firing', dedup_key: `chain:${tenant}`, tenant_id: tenant }]);
      const raised = await env.db.query(
        `SELECT 1 FROM audit_record WHERE action = 'audit.verification_failed' AND chain_id = $1`,
        [tenant],
      );
      expect(raised.rowCount).toBe(2); // one for the anchor edit above, one for this tamper
    } finally {
      await running.stop();
    }
  });
});
