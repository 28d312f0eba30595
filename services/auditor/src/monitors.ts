// Periodic checks that no single event triggers: AUDIT-002 (the inbox is not drained) and the lag
// part of SYNC-001 (a connection's last good poll is too old). They also apply silences and
// promote pending alerts. Alerts are provider-level (tenant NULL).
import type { AlertNotification } from '@tenantgate/shared';
import { inTransaction, isoSql, type Db, type Tx } from './db.ts';
import type { AlertStore } from './alerts/store.ts';
import type { Clock, Severity } from './alerts/types.ts';

interface MonitorRule {
  id: string;
  code: string;
  kind: string;
  severity: Severity;
  params: Record<string, unknown>;
}

/** Finish times (epoch ms) of recently failed wake-up jobs, newest first. */
export type FailedWakeups = () => Promise<number[]>;

export class Monitors {
  constructor(
    private readonly db: Db,
    private readonly store: AlertStore,
    private readonly clock: Clock,
    private readonly failedWakeups?: FailedWakeups,
  ) {}

  /** Runs every monitor once; returns the notifications to publish. */
  async run(): Promise<AlertNotification[]> {
    // read from Redis before the transaction (no Redis round trips while holding locks)
    const failed = this.failedWakeups ? await this.failedWakeups() : [];
    return await inTransaction(this.db, async (tx) => {
      const rules = await tx.query<MonitorRule>(
        `SELECT id, code, kind, severity, params FROM alert_rule WHERE enabled AND tenant_id IS NULL AND kind IN ('inbox_lag', 'sync_lag') ORDER BY code`,
      );
      const out: AlertNotification[] = [];
      for (const rule of rules.rows) {
        if (rule.kind === 'inbox_lag') {
          out.push(...(await this.#inboxLag(tx, rule)));
          out.push(...(await this.#failedWakeups(tx, rule, failed)));
        } else out.push(...(await this.#syncLag(tx, rule)));
      }
      out.push(...(await this.store.reconcileSilences(tx)));
      out.push(...(await this.store.promotePending(tx)));
      return out;
    });
  }

  async #inboxLag(tx: Tx, rule: MonitorRule): Promise<AlertNotification[]> {
    const maxLag = Number(rule.params['maxLagSeconds'] ?? 60) * 1000;
    const res = await tx.query<{ oldest: string | null; pending: string; retrying: string }>(
      `SELECT ${isoSql('min(observed_at)')} AS oldest, count(*) AS pending, count(*) FILTER (WHERE retry_at IS NOT NULL) AS retrying
       FROM audit_inbox WHERE processed_at IS NULL`,
    );
    const now = this.clock.now();
    const oldest = res.rows[0]?.oldest ? Date.parse(res.rows[0].oldest) : null;
    const lag = oldest === null ? 0 : now.getTime() - oldest;
    const ref = { id: rule.id, code: rule.code };
    if (lag > maxLag) {
      return await this.store.fire(
        tx,
        ref,
        null,
        {
          type: 'fire',
          dedupKey: 'inbox',
          severity: rule.severity,
          title: `Audit pipeline stalled: oldest inbox event waits ${Math.round(lag / 1000)}s (${res.rows[0]?.pending ?? '?'} pending)`,
          labels: {
            lagSeconds: Math.round(lag / 1000),
            pending: Number(res.rows[0]?.pending ?? 0),
            retrying: Number(res.rows[0]?.retrying ?? 0),
          },
        },
        now,
      );
    }
    return await this.store.resolve(tx, ref, null, 'inbox', 'inbox drained');
  }

  /**
   * The other half of AUDIT-002: wake-up jobs fail when the drain fails (database errors, not bad
   * rows, which are isolated). Fires when at least `maxFailedWakeups` failed within
   * `failedWindowSeconds`; resolves when fewer did.
   */
  async #failedWakeups(tx: Tx, rule: MonitorRule, finishedAt: readonly number[]): Promise<AlertNotification[]> {
    const threshold = Number(rule.params['maxFailedWakeups'] ?? 3);
    const windowMs = Number(rule.params['failedWindowSeconds'] ?? 600) * 1000;
    const now = this.clock.now();
    const recent = finishedAt.filter((t) => t >= now.getTime() - windowMs).length;
    const ref = { id: rule.id, code: rule.code };
    if (this.failedWakeups && recent >= threshold) {
      return await this.store.fire(
        tx,
        ref,
        null,
        {
          type: 'fire',
          dedupKey: 'wakeup-failed',
          severity: rule.severity,
          title: `Audit pipeline failing: ${recent} wake-up jobs failed in the last ${Math.round(windowMs / 60_000)} min`,
          labels: { failedWakeups: recent, windowSeconds: windowMs / 1000 },
        },
        now,
      );
    }
    return await this.store.resolve(tx, ref, null, 'wakeup-failed', 'wake-up jobs succeed again');
  }

  async #syncLag(tx: Tx, rule: MonitorRule): Promise<AlertNotification[]> {
    const factor = Number(rule.params['factor'] ?? 3);
    const res = await tx.query<{
      id: string;
      name: string;
      poll_interval_ms: number;
      last_success: string | null;
      created: string;
    }>(
      `SELECT c.id, c.name, c.poll_interval_ms, ${isoSql('max(s.last_success_at)')} AS last_success, ${isoSql('c.created_at')} AS created
       FROM pve_connection c LEFT JOIN sync_cursor s ON s.connection_id = c.id
       WHERE c.enabled GROUP BY c.id ORDER BY c.id`,
    );
    const now = this.clock.now();
    const ref = { id: rule.id, code: rule.code };
    const out: AlertNotification[] = [];
    for (const c of res.rows) {
      const since = Date.parse(c.last_success ?? c.created);
      const lag = now.getTime() - since;
      const dedupKey = `lag:${c.id}`;
      if (lag > factor * c.poll_interval_ms) {
        out.push(
          ...(await this.store.fire(
            tx,
            ref,
            null,
            {
              type: 'fire',
              dedupKey,
              severity: rule.severity,
              title: `Connection ${c.name}: no good poll for ${Math.round(lag / 1000)}s (interval ${c.poll_interval_ms / 1000}s)`,
              labels: { connectionId: c.id, lagSeconds: Math.round(lag / 1000) },
            },
            now,
          )),
        );
      } else out.push(...(await this.store.resolve(tx, ref, null, dedupKey, 'polls are current')));
    }
    return out;
  }
}
