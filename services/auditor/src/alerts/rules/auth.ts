// AUTH-001 brute force, AUTH-002 password spray, AUTH-003 success after failures.
// Signal: authentication events (category `auth`); failures carry the client IP in srcIp and the
// submitted user in payload.user (or actor.id). Windows are in source time (occurredAt).
import { z } from 'zod';
import { str, type RuleDefinition, type RuleEvent } from '../types.ts';

const isFailure = (e: RuleEvent) => e.category === 'auth' && e.outcome === 'failure';
const isSuccess = (e: RuleEvent) => e.category === 'auth' && e.outcome === 'success';
const userOf = (e: RuleEvent) => str(e.payload['user']) ?? e.actorId;

const BruteForceParams = z.object({
  threshold: z.number().int().min(2).default(8),
  windowSeconds: z.number().int().positive().default(120),
});
type BruteForceState = { t: number[] };

/** AUTH-001: ≥ threshold failures from one IP within the window. */
export const authBruteForce: RuleDefinition<z.output<typeof BruteForceParams>, BruteForceState> = {
  kind: 'auth_bruteforce',
  params: BruteForceParams,
  select: (e) => (isFailure(e) && e.srcIp ? e.srcIp : null),
  evaluate(state, e, { params, severity }) {
    const since = e.occurredAt - params.windowSeconds * 1000;
    const t = [...(state?.t ?? []).filter((x) => x > since), e.occurredAt].slice(-params.threshold);
    const signals =
      t.length >= params.threshold
        ? [
            {
              type: 'fire' as const,
              dedupKey: `ip:${e.srcIp}`,
              severity,
              title: `Brute force: ${t.length} failed logins from ${e.srcIp} within ${params.windowSeconds}s`,
              labels: { srcIp: e.srcIp, connectionId: e.connectionId, node: e.node },
            },
          ]
        : [];
    return { state: { t }, signals };
  },
};

const SprayParams = z.object({
  distinctUsers: z.number().int().min(2).default(5),
  windowSeconds: z.number().int().positive().default(600),
});
type SprayState = { u: Array<[number, string]> };

/** AUTH-002: failures for ≥ distinctUsers different users from one IP within the window. */
export const authSpray: RuleDefinition<z.output<typeof SprayParams>, SprayState> = {
  kind: 'auth_spray',
  params: SprayParams,
  select: (e) => (isFailure(e) && e.srcIp ? e.srcIp : null),
  evaluate(state, e, { params, severity }) {
    const since = e.occurredAt - params.windowSeconds * 1000;
    const user = userOf(e) ?? '?';
    // keep the latest failure per user inside the window
    const byUser = new Map<string, number>();
    for (const [t, u] of state?.u ?? []) if (t > since) byUser.set(u, Math.max(t, byUser.get(u) ?? 0));
    byUser.set(user, Math.max(e.occurredAt, byUser.get(user) ?? 0));
    const u = [...byUser].map(([usr, t]) => [t, usr] as [number, string]).sort((a, b) => a[0] - b[0]);
    const signals =
      u.length >= params.distinctUsers
        ? [
            {
              type: 'fire' as const,
              dedupKey: `ip:${e.srcIp}`,
              severity,
              title: `Password spray: ${u.length} users tried from ${e.srcIp} within ${params.windowSeconds / 60} min`,
              labels: { srcIp: e.srcIp, users: u.map(([, x]) => x).slice(-20) },
            },
          ]
        : [];
    return { state: { u: u.slice(-200) }, signals };
  },
};

const SuccessAfterParams = z.object({
  failures: z.number().int().min(1).default(5),
  windowSeconds: z.number().int().positive().default(600),
});
type SuccessAfterState = { f: number[] };

/** AUTH-003: a successful login of a user after ≥ failures failures of that user within the window. */
export const authSuccessAfterFailures: RuleDefinition<z.output<typeof SuccessAfterParams>, SuccessAfterState> = {
  kind: 'auth_success_after_failures',
  params: SuccessAfterParams,
  select: (e) => ((isFailure(e) || isSuccess(e)) && userOf(e) ? `user:${userOf(e)}` : null),
  evaluate(state, e, { params, severity }) {
    const since = e.occurredAt - params.windowSeconds * 1000;
    const f = (state?.f ?? []).filter((x) => x > since && x <= e.occurredAt);
    if (isFailure(e)) return { state: { f: [...f, e.occurredAt].slice(-(params.failures * 4)) }, signals: [] };
    if (f.length < params.failures) return { state: null, signals: [] };
    const user = userOf(e);
    return {
      state: null,
      signals: [
        {
          type: 'fire',
          dedupKey: `user:${user}`,
          severity,
          title: `Login of ${user} succeeded after ${f.length} failures`,
          labels: { user, srcIp: e.srcIp },
        },
      ],
    };
  },
};
