// The alert engine's vocabulary. A rule is a pure unit: it sees one chained event and its own
// window state, and answers with the new state and fire/resolve signals. Persistence, dedup,
// silences and the lifecycle live in the engine and the store, not in rules.
import type { z } from 'zod';

export type Severity = 'info' | 'low' | 'medium' | 'high' | 'critical';
export const SEVERITY_RANK: Record<Severity, number> = { info: 0, low: 1, medium: 2, high: 3, critical: 4 };

/** The source of "now" for the engine, the store and the monitors (tests inject their own). */
export interface Clock {
  now(): Date;
}
export const systemClock: Clock = { now: () => new Date() };

/** A record as the rules see it, after it was appended to a chain. */
export interface RuleEvent {
  chainId: string;
  tenantId: string | null;
  seq: number;
  eventId: string;
  /** Source clock, epoch milliseconds. */
  occurredAt: number;
  source: string;
  category: string;
  action: string;
  outcome: 'success' | 'failure' | 'unknown';
  actorType: string;
  actorId: string | null;
  actorPrincipal: string | null;
  srcIp: string | null;
  connectionId: string | null;
  node: string | null;
  targetType: string | null;
  targetId: string | null;
  targetName: string | null;
  targetPath: string | null;
  upid: string | null;
  detection: string;
  payload: Record<string, unknown>;
  /** The guest the event concerns, when it concerns one. */
  vmid: number | null;
  /** The guest's tags (rule scopes select by tag). */
  guestTags: string[];
  /** How many chains this event was written to (2 for a guest moved between tenants). */
  chainCount: number;
}

export interface FireSignal {
  type: 'fire';
  dedupKey: string;
  severity: Severity;
  title: string;
  summary?: string;
  labels?: Record<string, unknown>;
}
export interface ResolveSignal {
  type: 'resolve';
  dedupKey: string;
  note?: string;
}
/**
 * Changes the severity, title and labels of the open alert of `dedupKey` once later evidence
 * re-classifies it (VM-001: the destroy task arrives after the inventory diff). The change is an
 * alert event like a transition (from_state = to_state, with the note) and is published. With no
 * open alert it fires one with these values.
 */
export interface ReclassifySignal extends Omit<FireSignal, 'type'> {
  type: 'reclassify';
  note: string;
}
export type Signal = FireSignal | ResolveSignal | ReclassifySignal;

export interface RuleContext<P> {
  params: P;
  /** The rule row's configured severity (rules may escalate per signal). */
  severity: Severity;
  now: Date;
}

export interface RuleResult<S> {
  state: S | null;
  signals: Signal[];
}

export interface RuleDefinition<P = any, S = any> {
  /** The evaluator name stored in alert_rule.kind. */
  kind: string;
  /** Params with defaults; tenant-authored rules supply overrides that this schema validates. */
  params: z.ZodType<P>;
  /** The window-state key this event feeds, or null when the rule ignores the event. */
  select(event: RuleEvent, params: P): string | null;
  /** Pure: no I/O, no clock reads beyond ctx.now. */
  evaluate(state: S | null, event: RuleEvent, ctx: RuleContext<P>): RuleResult<S>;
}

export function str(v: unknown): string | null {
  return typeof v === 'string' && v !== '' ? v : typeof v === 'number' ? String(v) : null;
}

/** A field of an access-diff payload: the item after the change (pve-sync: payload.after), else top level. */
export function field(payload: Record<string, unknown>, name: string): unknown {
  const after = payload['after'];
  if (after && typeof after === 'object' && name in after) return (after as Record<string, unknown>)[name];
  return payload[name];
}

export function truthy(v: unknown): boolean {
  return v === true || v === 1 || v === '1' || v === 'true';
}
