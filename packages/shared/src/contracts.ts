// Event and job contracts shared by producers and consumers. Both sides validate with these
// schemas (STYLE.md principle 11). Jobs carry ids, never secrets.
import { z } from 'zod';
import { AppError } from './errors/app-error.ts';

export const Outcome = z.enum(['success', 'failure', 'unknown']);
export const Detection = z.enum(['reported', 'diff', 'correlated']);
export const EventSource = z.enum([
  'pve.task',
  'pve.inventory',
  'pve.cluster-log',
  'pve.journal',
  'pve.access',
  'portal',
  'sync',
  'audit',
]);
export const ActorType = z.enum(['pve-user', 'pve-token', 'portal-user', 'portal-token', 'system', 'unknown']);

export const Actor = z.object({
  type: ActorType,
  /** user@realm, user@realm!token, or a portal user id. */
  id: z.string().nullable(),
  /** The effective PVE principal (token id included); never a secret. */
  principal: z.string().nullable().default(null),
});

export const Target = z.object({
  type: z.string().min(1),
  id: z.string().min(1),
  name: z.string().nullable().default(null),
  /** PVE ACL path, e.g. /vms/100. */
  path: z.string().nullable().default(null),
});

/** What a guest-related event needs for tenant attribution at `occurredAt`. */
export const GuestRef = z.object({
  vmid: z.number().int().positive(),
  pool: z.string().nullable().default(null),
  /** For guests moved between pools/tenants: the pool before the change. */
  previousPool: z.string().nullable().optional(),
});

/** One source event: written by pve-sync (and the gateway for portal actions) into audit_inbox. */
export const AuditSourceEvent = z.object({
  eventId: z.string().uuid(),
  dedupKey: z.string().min(1).max(500),
  source: EventSource,
  connectionId: z.string().uuid().nullable(),
  occurredAt: z.string().datetime({ offset: true }),
  observedAt: z.string().datetime({ offset: true }),
  category: z.string().min(1),
  /** `category.operation`, e.g. task.qmstart, guest.deleted, auth.login_failed, acl.granted. */
  action: z.string().regex(/^[a-z0-9_-]+\.[a-z0-9_.-]+$/),
  outcome: Outcome,
  actor: Actor,
  srcIp: z.string().nullable().default(null),
  node: z.string().nullable().default(null),
  target: Target.nullable().default(null),
  guest: GuestRef.nullable().default(null),
  /** Explicit attribution (portal events name their tenant); otherwise the auditor derives it. */
  tenantIds: z.array(z.string().uuid()).default([]),
  upid: z.string().nullable().default(null),
  requestId: z.string().nullable().default(null),
  detection: Detection,
  payload: z.record(z.string(), z.unknown()).default({}),
});
export type AuditSourceEvent = z.output<typeof AuditSourceEvent>;
export type AuditSourceEventInput = z.input<typeof AuditSourceEvent>;

/** Wake-up job for the auditor: "the inbox has new rows". Idempotent; carries no data. */
export const AuditWakeupJob = z.object({
  reason: z.string(),
  connectionId: z.string().uuid().nullable(),
  count: z.number().int().nonnegative(),
});
export type AuditWakeupJob = z.output<typeof AuditWakeupJob>;

/** Poll job of one connection (one job scheduler per connection). */
export const SyncPollJob = z.object({ connectionId: z.string().uuid() });
export type SyncPollJob = z.output<typeof SyncPollJob>;

export const AlertState = z.enum(['pending', 'firing', 'acknowledged', 'resolved', 'silenced']);
export const Severity = z.enum(['info', 'low', 'medium', 'high', 'critical']);

/** Published on Redis pub/sub per tenant for every alert transition; `cursor` is alert_event.id. */
export const AlertNotification = z.object({
  cursor: z.string().regex(/^\d+$/),
  alertId: z.string().uuid(),
  tenantId: z.string().uuid().nullable(),
  ruleCode: z.string(),
  state: AlertState,
  fromState: AlertState.nullable(),
  severity: Severity,
  title: z.string(),
  at: z.string().datetime({ offset: true }),
});
export type AlertNotification = z.output<typeof AlertNotification>;

/** Validates a contract value, turning a violation into a typed CONTRACT_VIOLATION error. */
export function parseContract<S extends z.ZodType>(name: string, schema: S, value: unknown): z.output<S> {
  const res = schema.safeParse(value);
  if (!res.success) {
    throw AppError.contractViolation(name, res.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
  }
  return res.data;
}
