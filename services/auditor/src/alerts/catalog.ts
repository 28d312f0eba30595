// The rule kinds the engine can run and the starter rules (GUIDE §5) seeded as provider-wide rows.
// Tenant-authored rules are alert_rule rows with a tenant_id and one of these kinds.
import { authBruteForce, authSpray, authSuccessAfterFailures } from './rules/auth.ts';
import { privilegeEscalation, riskyToken } from './rules/privilege.ts';
import { backupFailed, guestDestroyed, guestMoved, guestTaskFailed } from './rules/guest.ts';
import { taskFailureSpike } from './rules/tasks.ts';
import { chainVerificationFailed, memberAdded, syncHealth } from './rules/platform.ts';
import type { RuleDefinition, Severity } from './types.ts';

export const ruleKinds: ReadonlyMap<string, RuleDefinition> = new Map(
  [
    authBruteForce,
    authSpray,
    authSuccessAfterFailures,
    privilegeEscalation,
    riskyToken,
    guestDestroyed,
    backupFailed,
    taskFailureSpike,
    guestTaskFailed,
    guestMoved,
    memberAdded,
    syncHealth,
    chainVerificationFailed,
  ].map((r) => [r.kind, r as RuleDefinition]),
);

/** Kinds evaluated by the periodic monitors (../monitors.ts), not per event. */
export const MONITOR_KINDS = ['sync_lag', 'inbox_lag'] as const;

export interface StarterRule {
  code: string;
  kind: string;
  name: string;
  severity: Severity;
  params: Record<string, unknown>;
}

export const starterRules: readonly StarterRule[] = [
  {
    code: 'AUTH-001',
    kind: 'auth_bruteforce',
    name: 'brute force',
    severity: 'high',
    params: { threshold: 8, windowSeconds: 120 },
  },
  {
    code: 'AUTH-002',
    kind: 'auth_spray',
    name: 'password spray',
    severity: 'high',
    params: { distinctUsers: 5, windowSeconds: 600 },
  },
  {
    code: 'AUTH-003',
    kind: 'auth_success_after_failures',
    name: 'success after failures',
    severity: 'critical',
    params: { failures: 5, windowSeconds: 600 },
  },
  { code: 'PRIV-001', kind: 'privilege_escalation', name: 'privilege escalation', severity: 'critical', params: {} },
  { code: 'PRIV-002', kind: 'risky_token', name: 'risky API token', severity: 'medium', params: {} },
  { code: 'VM-001', kind: 'guest_destroyed', name: 'guest destroyed', severity: 'low', params: {} },
  { code: 'BKP-001', kind: 'backup_failed', name: 'backup failed', severity: 'high', params: {} },
  {
    code: 'TASK-001',
    kind: 'task_failure_spike',
    name: 'task failure spike',
    severity: 'medium',
    params: { minFailures: 5, factor: 3, windowSeconds: 900 },
  },
  { code: 'TASK-002', kind: 'guest_task_failed', name: 'guest task failed', severity: 'medium', params: {} },
  { code: 'TEN-001', kind: 'guest_moved', name: 'guest moved between tenants', severity: 'high', params: {} },
  { code: 'TEN-002', kind: 'member_added', name: 'member added to tenant', severity: 'info', params: {} },
  { code: 'SYNC-001', kind: 'sync_health', name: 'connection unreachable / lag / gap', severity: 'medium', params: {} },
  {
    code: 'SYNC-001L',
    kind: 'sync_lag',
    name: 'connection poll lag (monitor)',
    severity: 'medium',
    params: { factor: 3 },
  },
  {
    code: 'AUDIT-001',
    kind: 'chain_verification_failed',
    name: 'chain verification failure',
    severity: 'critical',
    params: {},
  },
  {
    code: 'AUDIT-002',
    kind: 'inbox_lag',
    name: 'audit pipeline stalled',
    severity: 'critical',
    // inbox lag, and failed wake-up jobs (≥ maxFailedWakeups within failedWindowSeconds)
    params: { maxLagSeconds: 60, maxFailedWakeups: 3, failedWindowSeconds: 600 },
  },
];
