// PVE logs no user/group/role/ACL/token/pool changes (GUIDE §2): pve-sync snapshots them and diffs.
// Each kind becomes a map key → canonical item; a change is created / deleted / changed per key.
import { userConfigFromApi, type AccessItemRef, type UserConfig } from '@tenantgate/pve-access';
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

/** The item of an access change, as the hygiene engine names it (`findingsForItem`). */
export function accessItemRef(kind: AccessKind, key: string, item: Record<string, unknown>): AccessItemRef {
  switch (kind) {
    case 'users':
      return { kind: 'user', userid: key };
    case 'tokens':
      return { kind: 'token', tokenid: key };
    case 'groups':
      return { kind: 'group', groupid: key };
    case 'roles':
      return { kind: 'role', roleid: key };
    case 'acl':
      return {
        kind: 'acl',
        path: String(item.path),
        type: item.type as 'user' | 'group' | 'token',
        ugid: String(item.ugid),
        roleid: String(item.roleid),
      };
    case 'pools':
      return { kind: 'pool', poolid: key };
  }
}

/**
 * The access configuration as the hygiene engine reads it (the same conversion the API data goes
 * through everywhere: `userConfigFromApi`). Roles arrive from the client as privilege arrays.
 */
export function accessUserConfig(input: {
  users: PveUser[];
  groups: PveGroup[];
  roles: PveRole[];
  acl: PveAclEntry[];
  pools: PvePoolListItem[];
}): UserConfig {
  return userConfigFromApi({
    users: input.users,
    groups: input.groups,
    roles: input.roles.map((r) => ({ ...r, privs: r.privs.join(',') })),
    acl: input.acl,
    pools: input.pools,
  });
}
