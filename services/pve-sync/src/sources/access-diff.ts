// PVE logs no user/group/role/ACL/token/pool changes (GUIDE §2): pve-sync snapshots them and diffs.
// Each kind becomes a map key → canonical item; a change is created / deleted / changed per key.
import type { PveAclEntry, PveGroup, PvePoolListItem, PveRole, PveUser } from '../pve-api.ts';

export const ACCESS_KINDS = ['users', 'tokens', 'groups', 'roles', 'acl', 'pools'] as const;
export type AccessKind = (typeof ACCESS_KINDS)[number];
export type AccessItems = Record<string, Record<string, unknown>>;
export type AccessSnapshot = Record<AccessKind, AccessItems>;

export interface AccessChange {
  kind: AccessKind;
  key: string;
  op: 'created' | 'deleted' | 'changed';
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
}

function clean(o: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(o).sort()) if (o[k] !== undefined) out[k] = o[k];
  return out;
}

export function normaliseAccess(input: {
  users: PveUser[];
  groups: PveGroup[];
  roles: PveRole[];
  acl: PveAclEntry[];
  pools: PvePoolListItem[];
}): AccessSnapshot {
  const snap: AccessSnapshot = { users: {}, tokens: {}, groups: {}, roles: {}, acl: {}, pools: {} };
  for (const u of input.users) {
    snap.users[u.userid] = clean({
      enable: u.enable ?? true,
      expire: u.expire ?? 0,
      firstname: u.firstname,
      lastname: u.lastname,
      email: u.email,
      comment: u.comment,
      groups: [...(u.groups ?? [])].sort(),
    });
    for (const t of u.tokens ?? []) {
      snap.tokens[`${u.userid}!${t.tokenid}`] = clean({
        privsep: t.privsep ?? true,
        expire: t.expire ?? 0,
        comment: t.comment,
      });
    }
  }
  for (const g of input.groups)
    snap.groups[g.groupid] = clean({ comment: g.comment, users: [...(g.users ?? [])].sort() });
  for (const r of input.roles)
    snap.roles[r.roleid] = clean({ privs: [...r.privs].sort(), special: r.special ?? false });
  for (const a of input.acl)
    snap.acl[`${a.path}|${a.type}|${a.ugid}|${a.roleid}`] = {
      path: a.path,
      type: a.type,
      ugid: a.ugid,
      roleid: a.roleid,
      propagate: a.propagate,
    };
  for (const p of input.pools) snap.pools[p.poolid] = clean({ comment: p.comment });
  return snap;
}

/** Canonical JSON (sorted keys) — the digest input of a snapshot kind. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .filter((k) => o[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

export function diffAccessKind(kind: AccessKind, before: AccessItems, after: AccessItems): AccessChange[] {
  const out: AccessChange[] = [];
  const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
  for (const key of keys) {
    const b = before[key] ?? null;
    const a = after[key] ?? null;
    if (!b && a) out.push({ kind, key, op: 'created', before: null, after: a });
    else if (b && !a) out.push({ kind, key, op: 'deleted', before: b, after: null });
    else if (b && a && canonicalJson(b) !== canonicalJson(a))
      out.push({ kind, key, op: 'changed', before: b, after: a });
  }
  return out;
}

/** Privileges whose grant is a privilege escalation (GUIDE §5, PRIV-001). */
const SENSITIVE_PRIVS = ['Permissions.Modify', 'Sys.Modify', 'Realm.Allocate', 'User.Modify'];

/**
 * Hygiene findings of one item in the context of the whole snapshot (GUIDE §3): tokens without
 * expiry or with privsep=0, Administrator or sensitive privileges on `/`, propagating grants on `/`,
 * disabled or expired users that still hold grants.
 */
export function findings(
  kind: AccessKind,
  key: string,
  item: Record<string, unknown> | null,
  snap: AccessSnapshot,
  nowEpoch: number,
): string[] {
  if (!item) return [];
  const out: string[] = [];
  if (kind === 'tokens') {
    if (!item.expire) out.push('token-without-expiry');
    if (item.privsep === false) out.push('token-privsep-disabled');
  }
  if (kind === 'acl') {
    const role = snap.roles[String(item.roleid)];
    const privs = (role?.privs as string[] | undefined) ?? [];
    if (item.path === '/') {
      if (item.roleid === 'Administrator') out.push('administrator-on-root');
      if (item.propagate) out.push('propagating-grant-on-root');
    }
    if (privs.some((p) => SENSITIVE_PRIVS.includes(p))) out.push('sensitive-privileges');
  }
  if (kind === 'users') {
    const disabled =
      item.enable === false || (typeof item.expire === 'number' && item.expire > 0 && item.expire < nowEpoch);
    if (disabled && Object.values(snap.acl).some((a) => a.type === 'user' && a.ugid === key))
      out.push('disabled-user-with-grants');
  }
  return out;
}
