// TEN-002 member added, SYNC-001 sync unreachable/lag/gap (event part; the lag monitor lives in
// ../monitors.ts), AUDIT-001 chain verification failure.
import { z } from 'zod';
import { str, type FireSignal, type RuleDefinition, type Severity } from '../types.ts';

const NoParams = z.object({}) as unknown as z.ZodType<Record<string, never>>;

/** TEN-002: a member added to a tenant (info; medium for the tenant-admin role). */
export const memberAdded: RuleDefinition<Record<string, never>, null> = {
  kind: 'member_added',
  params: NoParams,
  select: (e) =>
    e.action === 'membership.added' || (e.action === 'membership.changed' && e.payload['role'] === 'tenant_admin')
      ? 'stateless'
      : null,
  evaluate(_s, e) {
    const role = str(e.payload['role']) ?? 'tenant_user';
    const user = str(e.payload['username']) ?? e.targetName ?? str(e.payload['userId']) ?? e.targetId ?? '?';
    return {
      state: null,
      signals: [
        {
          type: 'fire',
          dedupKey: `member:${user}:${e.eventId}`,
          severity: role === 'tenant_admin' ? 'medium' : 'info',
          title:
            e.action === 'membership.added' ? `${user} added to the tenant as ${role}` : `${user} promoted to ${role}`,
          labels: { user, role, by: e.actorId },
        },
      ],
    };
  },
};

/** SYNC-001 (events): a source gap (high), an unreachable or lagging connection (medium); recovery resolves. */
export const syncHealth: RuleDefinition<Record<string, never>, null> = {
  kind: 'sync_health',
  params: NoParams,
  select: (e) => (/^sync\.(gap|gap_detected|unreachable|lag|recovered)$/.test(e.action) ? 'stateless' : null),
  evaluate(_s, e) {
    const conn = e.connectionId ?? '-';
    const source = str(e.payload['source']) ?? '-';
    if (e.action === 'sync.recovered') {
      return {
        state: null,
        signals: [
          { type: 'resolve', dedupKey: `unreachable:${conn}` },
          { type: 'resolve', dedupKey: `lag:${conn}` },
        ],
      };
    }
    if (e.action === 'sync.gap' || e.action === 'sync.gap_detected') {
      return {
        state: null,
        signals: [
          {
            type: 'fire',
            dedupKey: `gap:${conn}:${source}:${e.eventId}`,
            severity: 'high',
            title: `Source gap on ${source} of connection ${conn}`,
            labels: { source, ...e.payload },
          },
        ],
      };
    }
    const kind = e.action === 'sync.lag' ? 'lag' : 'unreachable';
    return {
      state: null,
      signals: [
        {
          type: 'fire',
          dedupKey: `${kind}:${conn}`,
          severity: 'medium',
          title: `Connection ${conn} ${kind === 'lag' ? 'is lagging' : 'is unreachable'}`,
          labels: { ...e.payload },
        },
      ],
    };
  },
};

/** The AUDIT-001 alert of a failed chain (the rule below, and the verifier's direct raise). */
export function verificationFailureSignal(
  chainId: string,
  codes: readonly string[],
  findings: unknown,
  severity: Severity,
): FireSignal {
  return {
    type: 'fire',
    dedupKey: `chain:${chainId}`,
    severity,
    title: `Audit chain ${chainId} failed verification${codes.length ? `: ${codes.join(', ')}` : ''}`,
    labels: { chainId, codes, findings: findings ?? null },
  };
}

/** AUDIT-001: a verifier reported a broken chain. Never auto-resolves. */
export const chainVerificationFailed: RuleDefinition<Record<string, never>, null> = {
  kind: 'chain_verification_failed',
  params: NoParams,
  select: (e) => (e.action === 'audit.verification_failed' ? 'stateless' : null),
  evaluate(_s, e, { severity }) {
    const chain = str(e.payload['chainId']) ?? e.chainId;
    const codes = Array.isArray(e.payload['codes']) ? (e.payload['codes'] as unknown[]).map(String) : [];
    return { state: null, signals: [verificationFailureSignal(chain, codes, e.payload['findings'], severity)] };
  },
};
