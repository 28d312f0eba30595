// Regression (issue 6.1): an inbox row the batch could not store failed its whole batch on every
// attempt, so one bad row blocked the pipeline. Now the batch is redone by bisection, the bad row
// is retried alone and, after its last attempt, chained as audit.invalid_event with AUDIT-002.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { PROVIDER_CHAIN_ID } from '@tenantgate/audit-core';
import { assign, event, fixture, insertEvents, setupEnv, type Env } from './test-support.ts';
import { seedStarterRules } from './alerts/seed.ts';
import { verifyChains } from './verifier.ts';

let env: Env;
let tenant: string;
let conn: string;

beforeAll(async () => {
  env = await setupEnv('auditpoison');
  const f = await fixture(env.db, ['poison']);
  tenant = f.tenants[0]!;
  conn = f.connectionId;
  await assign(env.db, { tenantId: tenant, connectionId: conn, kind: 'connection' });
  await seedStarterRules(env.db);
});
afterAll(async () => await env.close());

/**
 * A row that passes the contract but that audit_record refuses: its observedAt is in year 0, which
 * JavaScript accepts and PostgreSQL's timestamptz does not (SQLSTATE 22008). The inbox columns are
 * valid, so only the append fails — a per-row failure of the kind that used to block a batch.
 */
async function insertPoisonRow(): Promise<string> {
  const e = event({ connectionId: conn, observedAt: '0000-01-01T00:00:00Z', payload: { note: 'poison' } });
  await env.db.query(
    `INSERT INTO audit_inbox (dedup_key, event_id, connection_id, source, occurred_at, observed_at, event)
     VALUES ($1, $2, $3, $4, $5, now() - interval '1 hour', $6)`,
    [e.dedupKey, e.eventId, conn, e.source, e.occurredAt, JSON.stringify(e)],
  );
  return e.dedupKey;
}

async function chainsOf(dedupKey: string): Promise<Array<{ chain_id: string; action: string }>> {
  const r = await env.db.query<{ chain_id: string; action: string }>(
    `SELECT chain_id, action FROM audit_record WHERE dedup_key = $1`,
    [dedupKey],
  );
  return r.rows;
}

describe('regression: one poison inbox row blocked its whole batch', () => {
  it('chains the other rows of the batch on the first drain', async () => {
    const poison = await insertPoisonRow();
    const good = Array.from({ length: 9 }, () => event({ connectionId: conn }));
    await insertEvents(env.db, good);
    // max attempts high: this test looks at the state after the first failures only
    const s = env.newService({ batchSize: 50, poisonMaxAttempts: 100, poisonRetryDelayMs: 3_600_000 });
    await s.drainNow();
    for (const e of good) expect(await chainsOf(e.dedupKey)).toEqual([{ chain_id: tenant, action: e.action }]);
    expect(await chainsOf(poison)).toEqual([]);
    const row = await env.db.query<{ processed_at: Date | null; attempts: number; last_error: string; retry_at: Date }>(
      `SELECT processed_at, attempts, last_error, retry_at FROM audit_inbox WHERE dedup_key = $1`,
      [poison],
    );
    expect(row.rows[0]!.processed_at).toBeNull();
    expect(row.rows[0]!.attempts).toBe(1);
    expect(row.rows[0]!.last_error).toMatch(/^22008: .*out of range/);
    expect(row.rows[0]!.retry_at).not.toBeNull();
    // later rows are not held back by the failed one (it waits for its retry time, alone)
    const later = event({ connectionId: conn });
    await insertEvents(env.db, [later]);
    await s.drainNow();
    expect(await chainsOf(later.dedupKey)).toHaveLength(1);
  });

  it('retries the row alone and quarantines it after the last attempt: audit.invalid_event + AUDIT-002', async () => {
    await env.db.query(`UPDATE audit_inbox SET retry_at = now() - interval '1 second' WHERE retry_at IS NOT NULL`);
    const poison = await insertPoisonRow();
    const good = Array.from({ length: 20 }, () => event({ connectionId: conn }));
    await insertEvents(env.db, good);
    const s = env.newService({ batchSize: 7, poisonMaxAttempts: 3, poisonRetryDelayMs: 0 });
    await s.drainNow();
    await s.drainNow();
    for (const e of good) expect(await chainsOf(e.dedupKey)).toHaveLength(1);
    expect(await chainsOf(poison)).toEqual([{ chain_id: PROVIDER_CHAIN_ID, action: 'audit.invalid_event' }]);
    const rec = await env.db.query<{ payload: Record<string, unknown>; event_id: string }>(
      `SELECT payload, event_id FROM audit_record WHERE dedup_key = $1`,
      [poison],
    );
    const inbox = await env.db.query<{
      event_id: string;
      digest: string;
      attempts: number;
      processed_at: Date | null;
      retry_at: Date | null;
    }>(
      `SELECT event_id, encode(sha256(convert_to(event::text, 'UTF8')), 'hex') AS digest, attempts, processed_at, retry_at
       FROM audit_inbox WHERE dedup_key = $1`,
      [poison],
    );
    const payload = rec.rows[0]!.payload;
    expect(rec.rows[0]!.event_id).toBe(inbox.rows[0]!.event_id);
    expect(payload['reason']).toBe('quarantined');
    expect(payload['attempts']).toBe(3);
    expect(payload['error']).toMatch(/^22008/);
    expect((payload['original'] as { digest: string }).digest).toBe(inbox.rows[0]!.digest);
    expect((payload['event'] as { observedAt: string }).observedAt).toBe('0000-01-01T00:00:00Z');
    expect(inbox.rows[0]!.attempts).toBe(3);
    expect(inbox.rows[0]!.processed_at).not.toBeNull();
    expect(inbox.rows[0]!.retry_at).toBeNull();
    // the first test's row was quarantined too (its retry time had come)
    const alert = await env.db.query<{ state: string; occurrences: number; severity: string }>(
      `SELECT a.state, a.occurrences, a.severity FROM alert a JOIN alert_rule r ON r.id = a.rule_id
       WHERE r.code = 'AUDIT-002' AND a.dedup_key = 'quarantine'`,
    );
    expect(alert.rows).toEqual([{ state: 'firing', occurrences: 2, severity: 'critical' }]);
    const pending = await env.db.query(`SELECT 1 FROM audit_inbox WHERE processed_at IS NULL`);
    expect(pending.rowCount).toBe(0);
    const reports = await verifyChains(env.db, { publicKeys: [env.key.publicKey] });
    expect(reports.map((r) => r.findings)).toEqual(reports.map(() => []));
  });

  it('does not blame rows for a failure of the database (nothing is recorded, the drain stops)', async () => {
    const e = event({ connectionId: conn });
    await insertEvents(env.db, [e]);
    const holder = await env.db.connect();
    try {
      // another session holds the chain head; the auditor's lock wait times out (55P03, systemic)
      await holder.query('BEGIN');
      await holder.query(`SELECT 1 FROM audit_chain WHERE chain_id = $1 FOR UPDATE`, [tenant]);
      const pool = new pg.Pool({ connectionString: env.database.url, max: 2, options: '-c lock_timeout=300' });
      pool.on('error', () => {});
      try {
        await env.newService({ pool }).drainNow();
      } finally {
        await env.services.at(-1)!.stop();
        await pool.end();
      }
    } finally {
      await holder.query('ROLLBACK');
      holder.release();
    }
    const row = await env.db.query<{ attempts: number; last_error: string | null; processed_at: Date | null }>(
      `SELECT attempts, last_error, processed_at FROM audit_inbox WHERE dedup_key = $1`,
      [e.dedupKey],
    );
    expect(row.rows[0]).toEqual({ attempts: 0, last_error: null, processed_at: null });
  });
});
