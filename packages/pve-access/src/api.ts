// The same UserConfig from PVE's API responses (`/access/users?full=1`, `/access/groups`,
// `/access/roles`, `/access/acl`, `/pools`), and back. Responses are validated with zod; PVE sends
// booleans as 0/1 and some numbers as strings, and omits optional fields.
import { z } from 'zod';
import { builtinRoleSet, DEFAULT_PVE_VERSION } from './builtin-roles.ts';
import { AccessError } from './errors.ts';
import { byString, isValidUserId, normalizePath, splitList } from './ids.ts';
import { emptyUserConfig, type PvePool, type PveUser, type UserConfig } from './types.ts';

const Flag = z.union([z.number(), z.string(), z.boolean()]).nullish();
const Num = z.union([z.number().int().nonnegative(), z.string().regex(/^\d+$/)]).nullish();
const Text = z.string().nullish();

const TokenBody = z.looseObject({ privsep: Flag, expire: Num, comment: Text });
const TokenItem = TokenBody.extend({ tokenid: z.string().min(1) });
const UserItem = z.looseObject({
  userid: z.string().min(1),
  enable: Flag,
  expire: Num,
  firstname: Text,
  lastname: Text,
  email: Text,
  comment: Text,
  keys: Text,
  groups: z.union([z.string(), z.array(z.string())]).nullish(),
  tokens: z.union([z.array(TokenItem), z.record(z.string(), TokenBody)]).nullish(),
});
const GroupItem = z.looseObject({
  groupid: z.string().min(1),
  comment: Text,
  users: z.union([z.string(), z.array(z.string())]).nullish(),
  members: z.array(z.string()).nullish(),
});
const RoleItem = z.looseObject({
  roleid: z.string().min(1),
  privs: z.union([z.string(), z.record(z.string(), z.unknown())]).nullish(),
  special: Flag,
});
const AclItem = z.looseObject({
  path: z.string(),
  type: z.enum(['user', 'group', 'token']),
  ugid: z.string().min(1),
  roleid: z.string().min(1),
  propagate: Flag,
});
const PoolMember = z.looseObject({ type: z.string(), vmid: Num, storage: Text, id: Text });
const PoolItem = z.looseObject({ poolid: z.string().min(1), comment: Text, members: z.array(PoolMember).nullish() });

export interface AccessApiData {
  /** `GET /access/users?full=1` items (full=0 items work too; groups then come from `groups`). */
  users: unknown[];
  /** `GET /access/groups` items. */
  groups: unknown[];
  /** `GET /access/roles` items; built-in (`special: 1`) roles are skipped. */
  roles: unknown[];
  /** `GET /access/acl` items. */
  acl: unknown[];
  /**
   * `GET /pools?poolid=X` bodies (one-element arrays) or `GET /pools` items with `members`.
   * Guests are `{type: qemu|lxc, vmid}`, storages `{type: storage, storage}`.
   */
  pools: unknown[];
}

function parseList<T extends z.ZodType>(schema: T, items: unknown[], what: string): z.infer<T>[] {
  const res = z.array(schema).safeParse(items);
  if (!res.success) {
    const issues = res.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw AccessError.invalidApiInput(what, issues);
  }
  return res.data;
}

function toFlag(v: number | string | boolean | null | undefined, fallback: boolean): boolean {
  if (v === undefined || v === null) return fallback;
  if (typeof v === 'boolean') return v;
  return v !== 0 && v !== '0' && v !== '';
}

function toNum(v: number | string | null | undefined): number {
  return v === undefined || v === null ? 0 : Number(v);
}

function members(v: string | string[] | null | undefined): string[] {
  return Array.isArray(v) ? v : splitList(v ?? '');
}

function opt<K extends string>(key: K, v: string | null | undefined): Partial<Record<K, string>> {
  return v ? ({ [key]: v } as Record<K, string>) : {};
}

/**
 * Builds the UserConfig that PVE's API reports. Omitted `enable` and token `privsep` take the API's
 * defaults (1). Throws `INVALID_API_INPUT` when a response does not match PVE's shape.
 */
export function userConfigFromApi(input: AccessApiData): UserConfig {
  const config = emptyUserConfig();
  for (const u of parseList(UserItem, input.users, '/access/users')) {
    const user: PveUser = {
      userid: u.userid,
      enable: toFlag(u.enable, true),
      expire: toNum(u.expire),
      ...opt('firstname', u.firstname),
      ...opt('lastname', u.lastname),
      ...opt('email', u.email),
      ...opt('comment', u.comment),
      ...opt('keys', u.keys),
      tokens: new Map(),
    };
    const tokens = Array.isArray(u.tokens)
      ? u.tokens
      : Object.entries(u.tokens ?? {}).map(([tokenid, t]) => ({ ...t, tokenid }));
    for (const t of tokens) {
      user.tokens.set(t.tokenid, {
        name: t.tokenid,
        expire: toNum(t.expire),
        privsep: toFlag(t.privsep, true),
        ...opt('comment', t.comment),
      });
    }
    config.users.set(user.userid, user);
  }
  const addMember = (groupid: string, userid: string): void => {
    let group = config.groups.get(groupid);
    if (!group) config.groups.set(groupid, (group = { groupid, members: new Set() }));
    group.members.add(userid);
  };
  for (const g of parseList(GroupItem, input.groups, '/access/groups')) {
    if (!config.groups.has(g.groupid)) config.groups.set(g.groupid, { groupid: g.groupid, members: new Set() });
    if (g.comment) config.groups.get(g.groupid)!.comment = g.comment;
    for (const m of [...members(g.users), ...(g.members ?? [])]) addMember(g.groupid, m);
  }
  for (const u of parseList(UserItem, input.users, '/access/users')) {
    for (const groupid of members(u.groups)) addMember(groupid, u.userid);
  }
  for (const r of parseList(RoleItem, input.roles, '/access/roles')) {
    if (toFlag(r.special, false)) continue;
    const privs = typeof r.privs === 'string' || r.privs == null ? splitList(r.privs ?? '') : Object.keys(r.privs);
    config.roles.set(r.roleid, { roleid: r.roleid, privs: new Set(privs) });
  }
  for (const a of parseList(AclItem, input.acl, '/access/acl')) {
    config.acl.push({
      path: normalizePath(a.path) ?? a.path,
      type: a.type,
      ugid: a.type === 'group' ? a.ugid.replace(/^@/, '') : a.ugid,
      roleid: a.roleid,
      propagate: toFlag(a.propagate, true),
    });
  }
  const poolItems = input.pools.flatMap((p) => (Array.isArray(p) ? p : [p]));
  for (const p of parseList(PoolItem, poolItems, '/pools')) {
    let pool = config.pools.get(p.poolid);
    if (!pool) config.pools.set(p.poolid, (pool = { poolid: p.poolid, vms: new Set(), storage: new Set() }));
    if (p.comment) pool.comment = p.comment;
    for (const m of p.members ?? []) {
      if (m.type === 'storage') {
        const storeid = m.storage ?? m.id?.split('/').pop();
        if (storeid) pool.storage.add(storeid);
      } else if (m.vmid !== undefined && m.vmid !== null) {
        pool.vms.add(String(m.vmid));
      }
    }
  }
  return config;
}

/** API-shaped views of a UserConfig (what PVE would answer to an unfiltered root@pam). */
export interface AccessApiView {
  users: {
    userid: string;
    enable: 0 | 1;
    expire: number;
    firstname?: string;
    lastname?: string;
    email?: string;
    comment?: string;
    keys?: string;
    'realm-type': string;
    groups: string;
    tokens: { tokenid: string; privsep: 0 | 1; expire: number; comment?: string }[] | null;
  }[];
  groups: { groupid: string; comment?: string; users: string }[];
  roles: { roleid: string; privs: string; special: 0 | 1 }[];
  acl: { path: string; type: 'user' | 'group' | 'token'; ugid: string; roleid: string; propagate: 0 | 1 }[];
  /** One `GET /pools?poolid=X` body per pool. Guest types are unknown to user.cfg: reported as qemu. */
  pools: { poolid: string; comment?: string; members: Record<string, unknown>[] }[][];
}

/** Renders a UserConfig as the API responses PVE gives for it (used by the simulator and tests). */
export function userConfigToApi(config: UserConfig, options: { pveVersion?: string } = {}): AccessApiView {
  const builtin = builtinRoleSet(options.pveVersion ?? DEFAULT_PVE_VERSION).roles;
  const sortedKeys = <V>(m: Map<string, V>): string[] => [...m.keys()].sort(byString);
  const groupsOf = new Map<string, string[]>();
  for (const g of config.groups.values()) {
    for (const m of g.members) groupsOf.set(m, [...(groupsOf.get(m) ?? []), g.groupid]);
  }
  const pool = (p: PvePool): AccessApiView['pools'][number] => [
    {
      poolid: p.poolid,
      ...opt('comment', p.comment),
      members: [
        ...[...p.vms].sort(byString).map((vmid) => ({ id: `qemu/${vmid}`, type: 'qemu', vmid: Number(vmid) })),
        ...[...p.storage].sort(byString).map((storage) => ({ id: `storage/${storage}`, type: 'storage', storage })),
      ],
    },
  ];
  return {
    users: sortedKeys(config.users).map((id) => {
      const u = config.users.get(id)!;
      const tokens = sortedKeys(u.tokens).map((name) => {
        const t = u.tokens.get(name)!;
        return { tokenid: name, privsep: t.privsep ? 1 : 0, expire: t.expire, ...opt('comment', t.comment) } as const;
      });
      return {
        userid: id,
        enable: u.enable ? 1 : 0,
        expire: u.expire,
        ...opt('firstname', u.firstname),
        ...opt('lastname', u.lastname),
        ...opt('email', u.email),
        ...opt('comment', u.comment),
        ...opt('keys', u.keys),
        'realm-type': isValidUserId(id) ? id.slice(id.lastIndexOf('@') + 1) : '',
        groups: (groupsOf.get(id) ?? []).sort(byString).join(','),
        tokens: tokens.length > 0 ? tokens : null,
      };
    }),
    groups: sortedKeys(config.groups).map((id) => {
      const g = config.groups.get(id)!;
      return { groupid: id, ...opt('comment', g.comment), users: [...g.members].sort(byString).join(',') };
    }),
    roles: [
      ...Object.entries(builtin).map(([roleid, privs]) => ({ roleid, privs: privs.join(','), special: 1 as const })),
      ...sortedKeys(config.roles)
        .filter((id) => !Object.hasOwn(builtin, id))
        .map((id) => ({
          roleid: id,
          privs: [...config.roles.get(id)!.privs].sort(byString).join(','),
          special: 0 as const,
        })),
    ],
    acl: config.acl
      .filter((e) => !(e.type === 'user' && e.ugid === 'root@pam'))
      .map((e) => ({ path: e.path, type: e.type, ugid: e.ugid, roleid: e.roleid, propagate: e.propagate ? 1 : 0 })),
    pools: sortedKeys(config.pools).map((id) => pool(config.pools.get(id)!)),
  };
}
