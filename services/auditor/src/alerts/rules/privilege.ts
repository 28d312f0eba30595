// PRIV-001 privilege escalation and PRIV-002 risky API tokens. Signals: access-config diffs from
// pve-sync (`acl.granted|changed`, `role.created|changed`, `token.created|changed|deleted|observed`;
// detection diff). The changed item is in payload.after (payload.before for the old one); for ACL
// entries pve-sync adds the role's privileges as payload.privs.
import { z } from 'zod';
import { field, str, truthy, type RuleDefinition, type RuleEvent, type Signal } from '../types.ts';

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

function beforePrivs(e: RuleEvent): Set<string> {
  const before = e.payload['before'];
  return new Set(before && typeof before === 'object' ? list((before as Record<string, unknown>)['privs']) : []);
}

/** PRIV-001: Administrator or a risky privilege granted (or added to a role), or any propagating grant on `/`. */
export const privilegeEscalation: RuleDefinition<z.output<typeof EscalationParams>, null> = {
  kind: 'privilege_escalation',
  params: EscalationParams,
  select: (e) => (/^(acl\.(granted|changed)|role\.(created|changed))$/.test(e.action) ? 'stateless' : null),
  evaluate(_s, e, { params, severity }) {
    const risky = new Set<string>([...RISKY_PRIVILEGES, ...params.extraPrivileges]);
    const isRole = e.action.startsWith('role.');
    const roleid = str(field(e.payload, 'roleid')) ?? (isRole ? e.targetId : null);
    const roles = [...list(field(e.payload, 'roles')), ...(roleid ? [roleid] : [])];
    const privs = new Set([...list(e.payload['privs']), ...list(field(e.payload, 'privs'))]);
    if (!isRole) for (const r of roles) for (const p of RISKY_BUILTIN_ROLES[r] ?? []) privs.add(p);
    // a changed role only escalates through privileges it did not have before
    const had = isRole && e.action === 'role.changed' ? beforePrivs(e) : new Set<string>();
    const hits = [...privs].filter((p) => risky.has(p) && !had.has(p)).sort();
    const path = str(field(e.payload, 'path')) ?? e.targetPath;
    const ugid = str(field(e.payload, 'ugid')) ?? str(field(e.payload, 'userid'));
    const rootPropagating = !isRole && path === '/' && truthy(field(e.payload, 'propagate') ?? 1);
    if (hits.length === 0 && !rootPropagating) return { state: null, signals: [] };
    const what = roles.length ? roles.join(',') : hits.join(',');
    return {
      state: null,
      signals: [
        {
          type: 'fire',
          dedupKey: `${e.connectionId ?? '-'}:${isRole ? 'role' : 'acl'}:${path ?? '-'}:${ugid ?? '-'}:${what}`,
          severity,
          title: isRole
            ? `Role ${roleid ?? '?'} now holds ${hits.join(', ')}`
            : `${what} granted to ${ugid ?? '?'} on ${path ?? '?'}${rootPropagating ? ' (propagating from /)' : ''}`,
          labels: { path, ugid, roles, privileges: hits, propagate: rootPropagating, connectionId: e.connectionId },
        },
      ],
    };
  },
};

const TokenParams = z.object({ requireExpiry: z.boolean().default(true) });

/** PRIV-002: a PVE API token without expiry (medium) or with privsep=0 (high); fixed or deleted → resolved. */
export const riskyToken: RuleDefinition<z.output<typeof TokenParams>, null> = {
  kind: 'risky_token',
  params: TokenParams,
  // PVE tokens only (portal API tokens are the gateway's own and always scoped)
  select: (e) =>
    e.source !== 'portal' && /^token\.(created|changed|deleted|observed)$/.test(e.action) ? 'stateless' : null,
  evaluate(_s, e, { params }) {
    const id = str(field(e.payload, 'tokenid')) ?? e.targetId ?? '?';
    const expiryKey = `token:${e.connectionId ?? '-'}:${id}:expiry`;
    const privsepKey = `token:${e.connectionId ?? '-'}:${id}:privsep`;
    if (e.action === 'token.deleted') {
      return {
        state: null,
        signals: [
          { type: 'resolve', dedupKey: expiryKey },
          { type: 'resolve', dedupKey: privsepKey },
        ],
      };
    }
    const signals: Signal[] = [];
    const expire = Number(field(e.payload, 'expire') ?? 0);
    if (params.requireExpiry && !(expire > 0)) {
      signals.push({
        type: 'fire',
        dedupKey: expiryKey,
        severity: 'medium',
        title: `API token ${id} never expires`,
        labels: { tokenid: id },
      });
    } else signals.push({ type: 'resolve', dedupKey: expiryKey });
    const privsep = field(e.payload, 'privsep');
    if (privsep !== undefined && privsep !== null && !truthy(privsep)) {
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
