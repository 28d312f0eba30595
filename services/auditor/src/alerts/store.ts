// The alert lifecycle in SQL: one open alert per (rule, tenant, dedup key); every transition is an
// append-only alert_event row whose id is the gateway's replay cursor. Each method returns the
// notifications to publish after the surrounding transaction commits.
import type { AlertNotification } from '@tenantgate/shared';
import type { Tx } from '../db.ts';
import { SEVERITY_RANK, type Clock, type FireSignal, type ReclassifySignal, type Severity } from './types.ts';

type State = 'pending' | 'firing' | 'acknowledged' | 'resolved' | 'silenced';

export interface RuleRef {
  id: string;
  code: string;
  /** An alert opens as `pending` and turns `firing` after this many seconds (0: at once). */
  forSeconds?: number;
}

interface AlertRow {
  id: string;
  state: State;
  severity: Severity;
  title: string;
  tenant_id: string | null;
  code: string;
}

const SILENCED_SQL = `EXISTS (SELECT 1 FROM alert_silence s
  WHERE s.until > $NOW
    AND (s.tenant_id IS NULL OR s.tenant_id IS NOT DISTINCT FROM a.tenant_id)
    AND (s.rule_code IS NULL OR s.rule_code = r.code)
    AND (s.dedup_key IS NULL OR s.dedup_key = a.dedup_key))`;

export class AlertStore {
  constructor(private readonly clock: Clock) {}

  /** Opens an alert, or counts another occurrence of the open one. */
  async fire(
    tx: Tx,
    rule: RuleRef,
    tenantId: string | null,
    signal: FireSignal,
    seenAt: Date,
  ): Promise<AlertNotification[]> {
    return (await this.fireReturningId(tx, rule, tenantId, signal, seenAt)).notifications;
  }

  /** As `fire`, also returning the open alert's id (the engine batches further occurrences). */
  async fireReturningId(
    tx: Tx,
    rule: RuleRef,
    tenantId: string | null,
    signal: FireSignal,
    seenAt: Date,
  ): Promise<{ alertId: string; notifications: AlertNotification[] }> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const open = await tx.query<{ id: string; severity: Severity }>(
        `SELECT id, severity FROM alert WHERE rule_id = $1 AND tenant_id IS NOT DISTINCT FROM $2 AND dedup_key = $3 AND state <> 'resolved' FOR UPDATE`,
        [rule.id, tenantId, signal.dedupKey],
      );
      const existing = open.rows[0];
      if (existing) {
        const severity =
          SEVERITY_RANK[signal.severity] > SEVERITY_RANK[existing.severity] ? signal.severity : existing.severity;
        await tx.query(
          `UPDATE alert SET occurrences = occurrences + 1, last_seen_at = GREATEST(last_seen_at, $2), severity = $3, updated_at = $4 WHERE id = $1`,
          [existing.id, seenAt, severity, this.clock.now()],
        );
        return { alertId: existing.id, notifications: [] };
      }
      const now = this.clock.now();
      const silenced = await tx.query<{ hit: boolean }>(
        `SELECT EXISTS (SELECT 1 FROM alert_silence s WHERE s.until > $1
           AND (s.tenant_id IS NULL OR s.tenant_id IS NOT DISTINCT FROM $2)
           AND (s.rule_code IS NULL OR s.rule_code = $3) AND (s.dedup_key IS NULL OR s.dedup_key = $4)) AS hit`,
        [now, tenantId, rule.code, signal.dedupKey],
      );
      const state: State = silenced.rows[0]?.hit ? 'silenced' : (rule.forSeconds ?? 0) > 0 ? 'pending' : 'firing';
      const inserted = await tx.query<{ id: string }>(
        `INSERT INTO alert (rule_id, tenant_id, dedup_key, state, severity, title, summary, labels, first_seen_at, last_seen_at, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, $10, $10) ON CONFLICT DO NOTHING RETURNING id`,
        [
          rule.id,
          tenantId,
          signal.dedupKey,
          state,
          signal.severity,
          signal.title.slice(0, 500),
          signal.summary ?? '',
          JSON.stringify(signal.labels ?? {}),
          seenAt,
          now,
        ],
      );
      const id = inserted.rows[0]?.id;
      if (!id) continue; // another process opened it concurrently: count an occurrence instead
      const alert = { id, state, severity: signal.severity, title: signal.title, tenant_id: tenantId, code: rule.code };
      return { alertId: id, notifications: [await this.#event(tx, alert, null, state, null, null)] };
    }
    throw new Error(`could not open or update alert ${rule.code}/${signal.dedupKey}`);
  }

  /**
   * Re-classifies the open alert of (rule, tenant, dedup key): severity, title and labels take the
   * signal's values (downgrades included), the occurrence is counted, and the change is an alert
   * event (from_state = to_state, with the note) returned for publication. With no open alert it
   * fires one with the signal's values.
   */
  async reclassify(
    tx: Tx,
    rule: RuleRef,
    tenantId: string | null,
    signal: ReclassifySignal,
    seenAt: Date,
  ): Promise<{ alertId: string; notifications: AlertNotification[] }> {
    const [open] = await this.#lockOpen(
      tx,
      `a.rule_id = $1 AND a.tenant_id IS NOT DISTINCT FROM $2 AND a.dedup_key = $3`,
      [rule.id, tenantId, signal.dedupKey],
    );
    const { note, ...rest } = signal;
    if (!open) return await this.fireReturningId(tx, rule, tenantId, { ...rest, type: 'fire' }, seenAt);
    const title = signal.title.slice(0, 500);
    await tx.query(
      `UPDATE alert SET occurrences = occurrences + 1, last_seen_at = GREATEST(last_seen_at, $2), severity = $3, title = $4,
         labels = labels || $5::jsonb, updated_at = $6 WHERE id = $1`,
      [open.id, seenAt, signal.severity, title, JSON.stringify(signal.labels ?? {}), this.clock.now()],
    );
    if (open.severity === signal.severity && open.title === title) return { alertId: open.id, notifications: [] };
    const changed = { ...open, severity: signal.severity, title };
    return { alertId: open.id, notifications: [await this.#event(tx, changed, open.state, open.state, null, note)] };
  }

  /** Counts further occurrences of open alerts (batched: one statement for many alerts). */
  async addOccurrences(
    tx: Tx,
    bumps: ReadonlyArray<{ alertId: string; count: number; lastSeen: Date; severity: Severity }>,
  ): Promise<void> {
    if (bumps.length === 0) return;
    await tx.query(
      `UPDATE alert a SET occurrences = a.occurrences + t.n, last_seen_at = GREATEST(a.last_seen_at, t.seen), updated_at = $5,
         severity = CASE WHEN array_position($6::text[], t.sev) > array_position($6::text[], a.severity) THEN t.sev ELSE a.severity END
       FROM unnest($1::uuid[], $2::int[], $3::timestamptz[], $4::text[]) AS t(id, n, seen, sev) WHERE a.id = t.id`,
      [
        bumps.map((b) => b.alertId),
        bumps.map((b) => b.count),
        bumps.map((b) => b.lastSeen),
        bumps.map((b) => b.severity),
        this.clock.now(),
        ['info', 'low', 'medium', 'high', 'critical'],
      ],
    );
  }

  /** Resolves the open alert of (rule, tenant, dedup key), if any. */
  async resolve(
    tx: Tx,
    rule: RuleRef,
    tenantId: string | null,
    dedupKey: string,
    note: string | null = null,
  ): Promise<AlertNotification[]> {
    const open = await this.#lockOpen(
      tx,
      `a.rule_id = $1 AND a.tenant_id IS NOT DISTINCT FROM $2 AND a.dedup_key = $3`,
      [rule.id, tenantId, dedupKey],
    );
    return await this.#transitionAll(tx, open, 'resolved', null, note);
  }

  async acknowledge(
    tx: Tx,
    alertId: string,
    actorId: string | null,
    note: string | null = null,
  ): Promise<AlertNotification[]> {
    const open = await this.#lockOpen(tx, `a.id = $1 AND a.state IN ('pending', 'firing', 'silenced')`, [alertId]);
    return await this.#transitionAll(tx, open, 'acknowledged', actorId, note);
  }

  /** Manual resolution (the only way AUDIT-001 alerts close). */
  async resolveById(
    tx: Tx,
    alertId: string,
    actorId: string | null,
    note: string | null = null,
  ): Promise<AlertNotification[]> {
    const open = await this.#lockOpen(tx, `a.id = $1`, [alertId]);
    return await this.#transitionAll(tx, open, 'resolved', actorId, note);
  }

  /** Adds a silence and silences the open alerts it covers. */
  async addSilence(
    tx: Tx,
    s: {
      tenantId: string | null;
      ruleCode: string | null;
      dedupKey: string | null;
      until: Date;
      reason: string;
      createdBy: string | null;
    },
  ): Promise<{ silenceId: string; notifications: AlertNotification[] }> {
    const res = await tx.query<{ id: string }>(
      `INSERT INTO alert_silence (tenant_id, rule_code, dedup_key, until, reason, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
      [s.tenantId, s.ruleCode, s.dedupKey, s.until, s.reason, s.createdBy, this.clock.now()],
    );
    return { silenceId: res.rows[0]!.id, notifications: await this.reconcileSilences(tx) };
  }

  /**
   * Applies silences to open alerts: firing/pending alerts under an active silence become
   * silenced; silenced alerts whose silences all expired fire again.
   */
  async reconcileSilences(tx: Tx): Promise<AlertNotification[]> {
    const now = this.clock.now();
    const silence = SILENCED_SQL.replaceAll('$NOW', '$1');
    const toSilence = await this.#lockOpen(tx, `a.state IN ('pending', 'firing') AND ${silence}`, [now]);
    const out = await this.#transitionAll(tx, toSilence, 'silenced', null, 'silence active');
    const toFire = await this.#lockOpen(tx, `a.state = 'silenced' AND NOT ${silence}`, [now]);
    out.push(...(await this.#transitionAll(tx, toFire, 'firing', null, 'silence expired')));
    return out;
  }

  /** Promotes pending alerts whose rule's `forSeconds` has elapsed. */
  async promotePending(tx: Tx): Promise<AlertNotification[]> {
    const due = await this.#lockOpen(
      tx,
      `a.state = 'pending' AND a.first_seen_at + make_interval(secs => COALESCE((r.params->>'forSeconds')::float8, 0)) <= $1`,
      [this.clock.now()],
    );
    return await this.#transitionAll(tx, due, 'firing', null, null);
  }

  async #lockOpen(tx: Tx, where: string, params: unknown[]): Promise<AlertRow[]> {
    const res = await tx.query<AlertRow>(
      `SELECT a.id, a.state, a.severity, a.title, a.tenant_id, r.code FROM alert a JOIN alert_rule r ON r.id = a.rule_id
       WHERE a.state <> 'resolved' AND ${where} ORDER BY a.id FOR UPDATE OF a`,
      params,
    );
    return res.rows;
  }

  async #transitionAll(
    tx: Tx,
    rows: AlertRow[],
    to: State,
    actorId: string | null,
    note: string | null,
  ): Promise<AlertNotification[]> {
    const out: AlertNotification[] = [];
    for (const row of rows) {
      if (row.state === to) continue;
      const now = this.clock.now();
      await tx.query(
        `UPDATE alert SET state = $2, updated_at = $3,
           resolved_at = CASE WHEN $2 = 'resolved' THEN $3 ELSE resolved_at END,
           acknowledged_at = CASE WHEN $2 = 'acknowledged' THEN $3 ELSE acknowledged_at END,
           acknowledged_by = CASE WHEN $2 = 'acknowledged' THEN $4::uuid ELSE acknowledged_by END
         WHERE id = $1`,
        [row.id, to, now, actorId],
      );
      out.push(await this.#event(tx, row, row.state, to, actorId, note));
    }
    return out;
  }

  async #event(
    tx: Tx,
    alert: AlertRow,
    from: State | null,
    to: State,
    actorId: string | null,
    note: string | null,
  ): Promise<AlertNotification> {
    const at = this.clock.now();
    const res = await tx.query<{ id: string }>(
      `INSERT INTO alert_event (alert_id, tenant_id, from_state, to_state, at, actor_id, note) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
      [alert.id, alert.tenant_id, from, to, at, actorId, note],
    );
    return {
      cursor: String(res.rows[0]!.id),
      alertId: alert.id,
      tenantId: alert.tenant_id,
      ruleCode: alert.code,
      state: to,
      fromState: from,
      severity: alert.severity,
      title: alert.title,
      at: at.toISOString(),
    };
  }
}
