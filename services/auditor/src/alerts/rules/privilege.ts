// PRIV-001 privilege escalation and PRIV-002 risky API tokens. Signals: access-config diffs from
// pve-sync (`acl.granted`/`acl.changed`, `role.created`/`role.changed`, `token.*`; detection diff).
import { z } from 'zod';
import { str, truthy, type RuleDefinition, type RuleEvent, type Signal } from '../types.ts';

/** Privileges whose grant is an escalation (GUIDE §5). */
export const RISKY_PRIVILEGES = ['Permissions.Modify', 'Sys.Modify', 'Realm.Allocate', 'User.Modify'] as const;
/** Built-in PVE roles holding one of them (shared/pve/builtin-roles.json, PVE 8.0–9.1). */
export const RISKY_BUILTIN_ROLES: Record<string, string[]> = {
  Administrator: ['Permissions.Modify', 'Realm.Allocate', 'Sys.Modify', 'User.Modify'],
  PVEAdmin: ['User.Modify'],
  PVEUserAdmin: ['User.Modify'],
};

const list = (v: unknown): string[] =>
  Array.isArray(v)
    ? v.filter((x): x is string => typeof x === 'string')
    : typeof v === 'string'
      ? v.split(/[,\s]+/).filter(Boolean)
      : [];

const EscalationParams = z.object({ extraPrivileges: z.array(z.string()).default([]) });

/** PRIV-001: Administrator or a risky privilege granted, or any propagating grant on `/`. */
export const privilegeEscalation: RuleDefinition<z.output<typeof EscalationParams>, null> = {
  kind: 'privilege_escalation',
  params: EscalationParams,
  select: (e) => (/^(acl|role)\.(granted|changed|created)$/.test(e.action) ? 'stateless' : null),
  evaluate(_s, e, { params, severity }) {
    const risky = new Set<string>([...RISKY_PRIVILEGES, ...params.extraPrivileges]);
    const roles = [...list(e.payload['roles']), ...list(e.payload['roleid'])];
    const privs = new Set(list(e.payload['privs']));
    for (const r of roles) for (const p of RISKY_BUILTIN_ROLES[r] ?? []) privs.add(p);
    const hits = [...privs].filter((p) => risky.has(p)).sort();
    const path = str(e.payload['path']) ?? e.targetPath;
    const ugid = str(e.payload['ugid']) ?? str(e.payload['userid']) ?? e.targetId;
    const rootPropagating = e.action.startsWith('acl.') && path === '/' && truthy(e.payload['propagate'] ?? 1);
    if (hits.length === 0 && !rootPropagating) return { state: null, signals: [] };
    const what = roles.length ? roles.join(',') : [...privs].join(',');
    return {
      state: null,
      signals: [
        {
          type: 'fire',
          dedupKey: `${e.connectionId ?? '-'}:${e.action.split('.')[0]}:${path ?? '-'}:${ugid ?? '-'}:${what}`,
          severity,
          title: e.action.startsWith('role.')
            ? `Role ${str(e.payload['roleid']) ?? '?'} now holds ${hits.join(', ')}`
            : `${what} granted to ${ugid ?? '?'} on ${path ?? '?'}${rootPropagating ? ' (propagating from /)' : ''}`,
          labels: { path, ugid, roles, privileges: hits, propagate: rootPropagating },
        },
      ],
    };
  },
};

const TokenParams = z.object({ requireExpiry: z.boolean().default(true) });

const tokenId = (e: RuleEvent) => str(e.payload['tokenid']) ?? e.targetId ?? '?';

/** PRIV-002: an API token without expiry (medium) or with privsep=0 (high); fixed → resolved. */
export const riskyToken: RuleDefinition<z.output<typeof TokenParams>, null> = {
  kind: 'risky_token',
  params: TokenParams,
  select: (e) => (/^token\.(created|changed|deleted)$/.test(e.action) ? 'stateless' : null),
  evaluate(_s, e, { params }) {
    const id = tokenId(e);
    const expiryKey = `token:${e.connectionId ?? '-'}:${id}:expiry`;
    const privsepKey = `token:${e.connectionId ?? '-'}:${id}:privsep`;
    if (e.action === 'token.deleted')
      return {
        state: null,
        signals: [
          { type: 'resolve', dedupKey: expiryKey },
          { type: 'resolve', dedupKey: privsepKey },
        ],
      };
    const signals: Signal[] = [];
    const expire = Number(e.payload['expire'] ?? 0);
    if (params.requireExpiry && !(expire > 0)) {
      signals.push({
        type: 'fire',
        dedupKey: expiryKey,
        severity: 'medium',
        title: `API token ${id} never expires`,
        labels: { tokenid: id },
      });
    } else signals.push({ type: 'resolve', dedupKey: expiryKey });
    const privsep = e.payload['privsep'];
    if (privsep !== undefined && !truthy(privsep)) {
      signals.push({
        type: 'fire',
        dedupKey: privsepKey,
        severity: 'high',
        title: `API token ${id} has privsep=0 (full privileges of its user)`,
        labels: { tokenid: id },
      });
    } else signals.push({ type: 'resolve', dedupKey: privsepKey });
    return { state: null, signals };
  },
};
