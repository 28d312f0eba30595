// Journal source on a node whose clock is not UTC (the demo's pve-b2 runs Europe/Berlin), and a
// first read (no saved cursor) that fails after PVE answered and is retried.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditSourceEvent } from '@tenantgate/shared';
import type { SimCluster } from '@tenantgate/pve-sim';
import { createHarness, type Harness } from './test-harness.ts';

let h: Harness;
let beta: SimCluster;

const events = async (where: string, params: unknown[]): Promise<AuditSourceEvent[]> =>
  (await h.query<{ event: AuditSourceEvent }>(`SELECT event FROM audit_inbox WHERE ${where}`, params)).map(
    (r) => r.event,
  );

beforeAll(async () => {
  h = await createHarness('journal_tz');
  beta = h.sim.cluster('beta');
});
afterAll(async () => {
  await h?.close();
});

describe('journal', () => {
  it('regression: a retried first read (commit failed after PVE answered) reports every line once, at its real time', async () => {
    const conn = await h.connect(beta);
    const nowS = beta.state.nowS();
    beta.state.addAuthFailure('bob@pve', '192.0.2.201', nowS - 30, 'pve-b2');
    beta.state.addLogin('frank@pve', '198.51.100.201', nowS - 20, 'pve-b2');
    // The first poll's journal commit fails inside Postgres, after the journal was read.
    await h.query(`CREATE TABLE IF NOT EXISTS test_fail_journal (on_ boolean)`);
    await h.query(`INSERT INTO test_fail_journal VALUES (true)`);
    await h.query(`CREATE OR REPLACE FUNCTION test_fail_journal() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.source = 'pve.journal' AND EXISTS (SELECT 1 FROM test_fail_journal) THEN
          RAISE EXCEPTION 'injected journal commit failure';
        END IF;
        RETURN NEW;
      END $$`);
    await h.query(
      `CREATE TRIGGER test_fail_journal BEFORE INSERT ON audit_inbox FOR EACH ROW EXECUTE FUNCTION test_fail_journal()`,
    );
    const poller = h.poller({ settings: { JOURNAL_INITIAL_LINES: 6 } });
    const first = await poller.poll(conn);
    expect(first.failures.map((f) => f.source)).toEqual(expect.arrayContaining(['journal:pve-b2']));
    expect(
      await h.query(
        `SELECT 1 FROM sync_cursor WHERE connection_id = $1 AND source = 'journal:pve-b2' AND cursor ? 'cursor'`,
        [conn],
      ),
    ).toEqual([]);

    // More lines arrive (the lastentries window moves), then the retry succeeds.
    await h.query(`DELETE FROM test_fail_journal`);
    beta.state.addAuthFailure('bob@pve', '192.0.2.202', nowS - 10, 'pve-b2');
    const retry = await poller.poll(conn);
    expect(retry.failures).toEqual([]);
    await poller.poll(conn);

    const failed = await events(`event->>'action' = 'auth.login_failed' AND event->>'srcIp' LIKE '192.0.2.20_'`, []);
    expect(failed.map((e) => [e.srcIp, e.occurredAt]).sort()).toEqual([
      ['192.0.2.201', new Date((nowS - 30) * 1000).toISOString()],
      ['192.0.2.202', new Date((nowS - 10) * 1000).toISOString()],
    ]);
    // Journal (Berlin wall time) and cluster log (epoch) name the same instant: one event.
    const ok = await events(
      `event->>'action' = 'auth.login_succeeded' AND event->'actor'->>'id' = 'frank@pve' AND event->>'connectionId' = $1`,
      [conn],
    );
    expect(ok.map((e) => e.occurredAt)).toEqual([new Date((nowS - 20) * 1000).toISOString()]);
    const [cur] = await h.query<{ cursor: { tz: string } }>(
      `SELECT cursor FROM sync_cursor WHERE connection_id = $1 AND source = 'journal:pve-b2'`,
      [conn],
    );
    expect(cur!.cursor.tz).toBe('Europe/Berlin');
    await h.query(`DROP TRIGGER test_fail_journal ON audit_inbox`);
  });
});
