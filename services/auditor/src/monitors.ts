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

export class Monitors {
  constructor(
    private readonly db: Db,
    private readonly store: AlertStore,
    private readonly clock: Clock,
  ) {}

  /** Runs every monitor once; returns the notifications to publish. */
  async run(): Promise<AlertNotification[]> {
    return await inTransaction(this.db, async (tx) => {
      const rules = await tx.query<MonitorRule>(
        `SELECT id, code, kind, severity, params FROM alert_rule WHERE enabled AND tenant_id IS NULL AND kind IN ('inbox_lag', 'sync_lag') ORDER BY code`,
      );
      const out: AlertNotification[] = [];
      for (const rule of rules.rows) {
        if (rule.kind === 'inbox_lag') out.push(...(await this.#inboxLag(tx, rule)));
        else out.push(...(await this.#syncLag(tx, rule)));
      }
      out.push(...(await this.store.reconcileSilences(tx)));
      out.push(...(await this.store.promotePending(tx)));
      return out;
    });
  }

  async #inboxLag(tx: Tx, rule: MonitorRule): Promise<AlertNotification[]> {
    const maxLag = Number(rule.params['maxLagSeconds'] ?? 60) * 1000;
    const res = await tx.query<{ oldest: string | null; pending: string }>(
      `SELECT ${isoSql('min(observed_at)')} AS oldest, count(*) AS pending FROM audit_inbox WHERE processed_at IS NULL`,
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
          labels: { lagSeconds: Math.round(lag / 1000), pending: Number(res.rows[0]?.pending ?? 0) },
        },
        now,
      );
    }
    return await this.store.resolve(tx, ref, null, 'inbox', 'inbox drained');
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
