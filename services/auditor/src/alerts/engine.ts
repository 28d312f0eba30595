// Evaluates the enabled rules against freshly chained events, inside the transaction that chained
// them: alert state and window state commit together with the records, so a crash can neither
// lose an alert nor count an event twice. Window state lives in alert_rule_state (shared by every
// auditor process; per chain, so the chain lock of the transaction serialises its use).
import type { AlertNotification, Logger } from '@tenantgate/shared';
import { named, type Tx } from '../db.ts';
import { ruleKinds } from './catalog.ts';
import type { AlertStore } from './store.ts';
import { SEVERITY_RANK, type Clock, type RuleDefinition, type RuleEvent, type Severity, type Signal } from './types.ts';

interface RuleRow {
  id: string;
  tenant_id: string | null;
  code: string;
  kind: string;
  severity: Severity;
  params: Record<string, unknown>;
  scope: { vmids?: number[]; tags?: string[]; connectionIds?: string[] };
}

interface LoadedRule {
  row: RuleRow;
  def: RuleDefinition;
  params: unknown;
  forSeconds: number;
}

export class AlertEngine {
  readonly #paramCache = new Map<string, { json: string; params: unknown } | null>();

  constructor(
    private readonly store: AlertStore,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {}

  async evaluate(tx: Tx, events: readonly RuleEvent[]): Promise<AlertNotification[]> {
    if (events.length === 0) return [];
    const rules = await this.#loadRules(tx);
    if (rules.length === 0) return [];
    const now = this.clock.now();
    // 1. which (rule, event, key) pairs apply
    const work: Array<{ rule: LoadedRule; event: RuleEvent; key: string }> = [];
    for (const event of events) {
      for (const rule of rules) {
        if (rule.row.tenant_id !== null && rule.row.tenant_id !== event.tenantId) continue;
        if (!inScope(rule.row.scope, event)) continue;
        const key = rule.def.select(event, rule.params);
        if (key !== null) work.push({ rule, event, key });
      }
    }
    if (work.length === 0) return [];
    // 2. load the window state of every key in use. No row locks needed: state is per chain, and
    //    the surrounding transaction holds the chain's lock, so no other process evaluates it now.
    const stateKeys = new Map<string, { ruleId: string; chainId: string; key: string }>();
    for (const w of work) {
      if (w.key === 'stateless') continue;
      stateKeys.set(stateId(w.rule.row.id, w.event.chainId, w.key), {
        ruleId: w.rule.row.id,
        chainId: w.event.chainId,
        key: w.key,
      });
    }
    const states = new Map<string, unknown>();
    if (stateKeys.size > 0) {
      const ks = [...stateKeys.values()];
      const res = await tx.query<{ rule_id: string; chain_id: string; state_key: string; state: unknown }>(
        named(
          'auditor-rule-state-load',
          `SELECT s.rule_id, s.chain_id, s.state_key, s.state FROM alert_rule_state s
         JOIN unnest($1::uuid[], $2::text[], $3::text[]) AS t(r, c, k) ON s.rule_id = t.r AND s.chain_id = t.c AND s.state_key = t.k`,
          [ks.map((k) => k.ruleId), ks.map((k) => k.chainId), ks.map((k) => k.key)],
        ),
      );
      for (const r of res.rows) states.set(stateId(r.rule_id, r.chain_id, r.state_key), r.state);
    }
    // open alerts of these rules: resolve signals for keys without an open alert cost no query
    const ruleIds = [...new Set(work.map((w) => w.rule.row.id))];
    const openRes = await tx.query<{ rule_id: string; tenant_id: string | null; dedup_key: string }>(
      named(
        'auditor-open-alerts',
        `SELECT rule_id, tenant_id, dedup_key FROM alert WHERE state <> 'resolved' AND rule_id = ANY($1::uuid[])`,
        [ruleIds],
      ),
    );
    const open = new Set(openRes.rows.map((r) => openId(r.rule_id, r.tenant_id, r.dedup_key)));
    // 3. evaluate in event order, then apply the signals
    const touched = new Set<string>();
    const out: AlertNotification[] = [];
    // alerts fired in this batch: further fires only count occurrences (one UPDATE at the end)
    const firedInBatch = new Map<string, string>();
    const bumps = new Map<string, { alertId: string; count: number; lastSeen: Date; severity: Severity }>();
    for (const { rule, event, key } of work) {
      const sid = stateId(rule.row.id, event.chainId, key);
      let signals: Signal[];
      try {
        const result = rule.def.evaluate(key === 'stateless' ? null : (states.get(sid) ?? null), event, {
          params: rule.params,
          severity: rule.row.severity,
          now,
        });
        signals = result.signals;
        if (key !== 'stateless') {
          states.set(sid, result.state);
          touched.add(sid);
        }
      } catch (err) {
        // a faulty rule must not stop the audit trail; the event stays chained
        this.logger.error({ err, rule: rule.row.code, eventId: event.eventId }, 'alert rule failed');
        continue;
      }
      const ref = { id: rule.row.id, code: rule.row.code, forSeconds: rule.forSeconds };
      for (const s of signals) {
        const oid = openId(rule.row.id, event.tenantId, s.dedupKey);
        if (s.type === 'fire') {
          const seen = new Date(event.occurredAt);
          const alertId = firedInBatch.get(oid);
          if (alertId !== undefined) {
            const b = bumps.get(alertId) ?? { alertId, count: 0, lastSeen: seen, severity: s.severity };
            b.count++;
            if (seen > b.lastSeen) b.lastSeen = seen;
            if (SEVERITY_RANK[s.severity] > SEVERITY_RANK[b.severity]) b.severity = s.severity;
            bumps.set(alertId, b);
            continue;
          }
          const res = await this.store.fireReturningId(tx, ref, event.tenantId, s, seen);
          out.push(...res.notifications);
          firedInBatch.set(oid, res.alertId);
          open.add(oid);
        } else if (s.type === 'reclassify') {
          // occurrences counted for this alert so far in the batch land first: their severity
          // must not override the re-classification
          const alertId = firedInBatch.get(oid);
          const pending = alertId === undefined ? undefined : bumps.get(alertId);
          if (pending) {
            await this.store.addOccurrences(tx, [pending]);
            bumps.delete(pending.alertId);
          }
          const res = await this.store.reclassify(tx, ref, event.tenantId, s, new Date(event.occurredAt));
          out.push(...res.notifications);
          firedInBatch.set(oid, res.alertId);
          open.add(oid);
        } else if (open.has(oid)) {
          if (firedInBatch.has(oid))
            await this.store.addOccurrences(
              tx,
              [...bumps.values()].filter((b) => b.alertId === firedInBatch.get(oid)),
            );
          bumps.delete(firedInBatch.get(oid) ?? '');
          out.push(...(await this.store.resolve(tx, ref, event.tenantId, s.dedupKey, s.note ?? null)));
          open.delete(oid);
          firedInBatch.delete(oid);
        }
      }
    }
    await this.store.addOccurrences(tx, [...bumps.values()]);
    if (touched.size > 0) {
      const ks = [...touched]
        .sort()
        .map((sid) => ({ ...stateKeys.get(sid)!, state: JSON.stringify(states.get(sid) ?? null) }));
      await tx.query(
        named(
          'auditor-rule-state-save',
          `INSERT INTO alert_rule_state (rule_id, chain_id, state_key, state, updated_at)
         SELECT r, c, k, st::jsonb, $5 FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[]) AS t(r, c, k, st)
         ON CONFLICT (rule_id, chain_id, state_key) DO UPDATE SET state = EXCLUDED.state, updated_at = EXCLUDED.updated_at`,
          [ks.map((k) => k.ruleId), ks.map((k) => k.chainId), ks.map((k) => k.key), ks.map((k) => k.state), now],
        ),
      );
    }
    return out;
  }

  async #loadRules(tx: Tx): Promise<LoadedRule[]> {
    const res = await tx.query<RuleRow & { updated_at: string }>(
      named(
        'auditor-rules-load',
        `SELECT id, tenant_id, code, kind, severity, params, scope, updated_at FROM alert_rule WHERE enabled ORDER BY tenant_id NULLS FIRST, code`,
      ),
    );
    const out: LoadedRule[] = [];
    for (const row of res.rows) {
      const def = ruleKinds.get(row.kind);
      if (!def) continue; // monitor kinds and unknown kinds
      const json = JSON.stringify(row.params);
      let cached = this.#paramCache.get(row.id);
      if (cached === undefined || (cached !== null && cached.json !== json)) {
        const parsed = def.params.safeParse(row.params);
        if (!parsed.success) {
          this.logger.warn(
            { rule: row.code, ruleId: row.id, issues: parsed.error.issues },
            'alert rule has invalid params; skipped',
          );
          cached = null;
        } else cached = { json, params: parsed.data };
        this.#paramCache.set(row.id, cached);
      }
      if (cached === null) continue;
      const forSeconds = Number(row.params['forSeconds'] ?? 0);
      out.push({ row, def, params: cached.params, forSeconds: Number.isFinite(forSeconds) ? forSeconds : 0 });
    }
    return out;
  }
}

function stateId(ruleId: string, chainId: string, key: string): string {
  return `${ruleId}\u0000${chainId}\u0000${key}`;
}

function openId(ruleId: string, tenantId: string | null, dedupKey: string): string {
  return `${ruleId}\u0000${tenantId ?? ''}\u0000${dedupKey}`;
}

function inScope(scope: RuleRow['scope'], e: RuleEvent): boolean {
  if (scope.vmids?.length && (e.vmid === null || !scope.vmids.includes(e.vmid))) return false;
  if (scope.tags?.length && !scope.tags.some((t) => e.guestTags.includes(t))) return false;
  if (scope.connectionIds?.length && (e.connectionId === null || !scope.connectionIds.includes(e.connectionId)))
    return false;
  return true;
}
