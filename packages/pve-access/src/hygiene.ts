// Hygiene findings over a PVE access configuration: the risky-but-legal states an access review
// should surface (GUIDE §3, alert rules PRIV-001/PRIV-002). Pure: the caller supplies `now` and,
// optionally, the last successful login per user (pve-sync knows it from the cluster log).
import { builtinRoleSet, DEFAULT_PVE_VERSION } from './builtin-roles.ts';
import { byString, normalizePath, parseTokenId } from './ids.ts';
import type { AclEntry, AclSubjectType, UserConfig } from './types.ts';

/** Stable codes; never renamed or reused. */
export const FindingCode = {
  /** An API token with `expire=0`. */
  TOKEN_NO_EXPIRY: 'TOKEN_NO_EXPIRY',
  /** An API token with privilege separation off: it holds all of its owner's privileges. */
  TOKEN_PRIVSEP_OFF: 'TOKEN_PRIVSEP_OFF',
  /** A subject other than root@pam with Administrator, or Sys.Modify + Permissions.Modify, propagated on `/`. */
  ADMIN_ON_ROOT: 'ADMIN_ON_ROOT',
  /** A disabled or expired user that still has granting ACL entries, directly or through groups. */
  DISABLED_USER_GRANTED: 'DISABLED_USER_GRANTED',
  /** An enabled user without a login in the last 90 days (only when logins are known). */
  USER_UNUSED_90D: 'USER_UNUSED_90D',
} as const;
export type FindingCode = (typeof FindingCode)[keyof typeof FindingCode];

export type FindingSeverity = 'low' | 'medium' | 'high' | 'critical';

export interface Finding {
  code: FindingCode;
  severity: FindingSeverity;
  /** User id, token id (`user@realm!name`) or group id (without `@`). */
  subject: string;
  subjectType: AclSubjectType;
  /** The ACL path the finding is about, where there is one (`/` for ADMIN_ON_ROOT). */
  path?: string;
  /** One operator-readable sentence: what is wrong and what to do. */
  message: string;
  /** Machine-readable specifics (paths, groups, roles, timestamps). */
  details: Record<string, unknown>;
}

export interface HygieneOptions {
  /** Epoch seconds: what "expired" and "90 days" are measured against. */
  now: number;
  /**
   * Epoch seconds of each user's last successful login. When given, enabled users missing from
   * it or older than 90 days yield USER_UNUSED_90D; when omitted, that check is skipped.
   */
  lastLoginByUser?: ReadonlyMap<string, number> | Readonly<Record<string, number>>;
  /** Role table to resolve built-in roles with (default: newest). */
  pveVersion?: string;
}

const ROOT_USER = 'root@pam';
const UNUSED_SECONDS = 90 * 86400;
const SEVERITY_RANK: Record<FindingSeverity, number> = { critical: 0, high: 1, medium: 2, low: 3 };
const ADMIN_PRIVS = ['Sys.Modify', 'Permissions.Modify'];

const isoDate = (epoch: number): string => new Date(epoch * 1000).toISOString().slice(0, 10);

/**
 * Hygiene findings of a configuration, sorted by severity (critical first), then code, subject
 * and path. ACL entries PVE would not apply are not counted: invalid paths, unknown roles, entries
 * naming undefined or privsep=0 tokens (C8), and NoAccess entries (they grant nothing).
 */
export function hygieneFindings(config: UserConfig, options: HygieneOptions): Finding[] {
  const { now } = options;
  const roleSet = builtinRoleSet(options.pveVersion ?? DEFAULT_PVE_VERSION);
  const rolePrivs = (roleid: string): readonly string[] | undefined =>
    roleSet.roles[roleid] ?? (config.roles.has(roleid) ? [...config.roles.get(roleid)!.privs] : undefined);
  const out: Finding[] = [];

  // Tokens (PRIV-002).
  for (const user of config.users.values()) {
    for (const token of user.tokens.values()) {
      const id = `${user.userid}!${token.name}`;
      if (token.expire === 0) {
        out.push({
          code: FindingCode.TOKEN_NO_EXPIRY,
          severity: 'medium',
          subject: id,
          subjectType: 'token',
          message: `API token ${id} never expires; set an expiry date and rotate it regularly.`,
          details: { owner: user.userid, privsep: token.privsep },
        });
      }
      if (!token.privsep) {
        out.push({
          code: FindingCode.TOKEN_PRIVSEP_OFF,
          severity: 'high',
          subject: id,
          subjectType: 'token',
          message: `API token ${id} has privilege separation off, so it holds every privilege of ${user.userid}; recreate it with privsep=1 and grant it only what it needs.`,
          details: { owner: user.userid, expire: token.expire },
        });
      }
    }
  }

  // The ACL entries PVE applies, grouped by member.
  const granting: (AclEntry & { privs: readonly string[] })[] = [];
  for (const entry of config.acl) {
    const path = normalizePath(entry.path);
    const privs = rolePrivs(entry.roleid);
    if (path === null || privs === undefined || entry.roleid === 'NoAccess') continue;
    if (entry.type === 'token') {
      const id = parseTokenId(entry.ugid);
      const token = id ? config.users.get(id.userid)?.tokens.get(id.tokenName) : undefined;
      if (!token?.privsep) continue; // undefined tokens get nothing; privsep=0 tokens ignore their ACLs
    }
    granting.push({ ...entry, path, privs });
  }

  // ADMIN_ON_ROOT (PRIV-001): per member, the propagating entries on `/`, unless NoAccess is among
  // them (it collapses the node, C6).
  const onRoot = new Map<string, { type: AclSubjectType; ugid: string; roles: Set<string>; privs: Set<string> }>();
  const noAccessOnRoot = new Set<string>();
  for (const entry of config.acl) {
    if (entry.roleid === 'NoAccess' && entry.propagate && normalizePath(entry.path) === '/') {
      noAccessOnRoot.add(`${entry.type}:${entry.ugid}`);
    }
  }
  for (const e of granting) {
    if (e.path !== '/' || !e.propagate) continue;
    if (e.type === 'user' && e.ugid === ROOT_USER) continue;
    const key = `${e.type}:${e.ugid}`;
    let m = onRoot.get(key);
    if (!m) onRoot.set(key, (m = { type: e.type, ugid: e.ugid, roles: new Set(), privs: new Set() }));
    m.roles.add(e.roleid);
    for (const p of e.privs) m.privs.add(p);
  }
  for (const [key, m] of onRoot) {
    if (noAccessOnRoot.has(key)) continue;
    const administrator = m.roles.has('Administrator');
    if (!administrator && !ADMIN_PRIVS.every((p) => m.privs.has(p))) continue;
    const roles = [...m.roles].sort(byString);
    const who =
      m.type === 'group'
        ? `Group @${m.ugid} (${config.groups.get(m.ugid)?.members.size ?? 0} members)`
        : m.type === 'token'
          ? `API token ${m.ugid}`
          : `User ${m.ugid}`;
    const what = administrator
      ? 'the Administrator role'
      : `Sys.Modify and Permissions.Modify (roles ${roles.join(', ')})`;
    out.push({
      code: FindingCode.ADMIN_ON_ROOT,
      severity: 'critical',
      subject: m.ugid,
      subjectType: m.type,
      path: '/',
      message: `${who} has ${what} on / with propagation, i.e. full control of the whole cluster; grant narrower roles on narrower paths.`,
      details: { roles },
    });
  }

  // DISABLED_USER_GRANTED: disabled or expired users that still have granting entries.
  const groupsOf = new Map<string, string[]>();
  for (const group of config.groups.values()) {
    for (const member of group.members) {
      const list = groupsOf.get(member);
      if (list) list.push(group.groupid);
      else groupsOf.set(member, [group.groupid]);
    }
  }
  const pathsByMember = new Map<string, Set<string>>();
  for (const e of granting) {
    if (e.type === 'token') continue;
    const key = `${e.type}:${e.ugid}`;
    const set = pathsByMember.get(key);
    if (set) set.add(e.path);
    else pathsByMember.set(key, new Set([e.path]));
  }
  for (const user of config.users.values()) {
    const expired = user.expire !== 0 && user.expire < now;
    if (user.enable && !expired) continue;
    const direct = [...(pathsByMember.get(`user:${user.userid}`) ?? [])].sort(byString);
    const viaGroups = (groupsOf.get(user.userid) ?? []).filter((g) => pathsByMember.has(`group:${g}`)).sort(byString);
    if (direct.length === 0 && viaGroups.length === 0) continue;
    const paths = new Set(direct);
    for (const g of viaGroups) for (const p of pathsByMember.get(`group:${g}`)!) paths.add(p);
    const state = !user.enable
      ? expired
        ? `is disabled and expired on ${isoDate(user.expire)}`
        : 'is disabled'
      : `expired on ${isoDate(user.expire)}`;
    const sources = [
      ...(direct.length > 0 ? [`direct ACL entries on ${direct.join(', ')}`] : []),
      ...(viaGroups.length > 0 ? [`membership in ${viaGroups.map((g) => `@${g}`).join(', ')}`] : []),
    ];
    out.push({
      code: FindingCode.DISABLED_USER_GRANTED,
      severity: 'medium',
      subject: user.userid,
      subjectType: 'user',
      message: `User ${user.userid} ${state} but still holds privileges through ${sources.join(' and ')}; remove the entries and group memberships (re-enabling the account would restore them).`,
      details: {
        enabled: user.enable,
        expire: user.expire,
        paths: [...paths].sort(byString),
        directPaths: direct,
        groups: viaGroups,
      },
    });
  }

  // USER_UNUSED_90D: only when logins are known.
  const logins = options.lastLoginByUser;
  if (logins !== undefined) {
    const lastLogin = (userid: string): number | undefined =>
      logins instanceof Map ? logins.get(userid) : (logins as Readonly<Record<string, number>>)[userid];
    for (const user of config.users.values()) {
      if (user.userid === ROOT_USER || !user.enable || (user.expire !== 0 && user.expire < now)) continue;
      const last = lastLogin(user.userid);
      if (last !== undefined && last >= now - UNUSED_SECONDS) continue;
      out.push({
        code: FindingCode.USER_UNUSED_90D,
        severity: 'low',
        subject: user.userid,
        subjectType: 'user',
        message:
          last === undefined
            ? `User ${user.userid} is enabled but has no recorded login; disable it if nobody uses it.`
            : `User ${user.userid} is enabled but last logged in on ${isoDate(last)}, more than 90 days ago; disable it if nobody uses it.`,
        details: { lastLogin: last ?? null },
      });
    }
  }

  return out.sort(
    (a, b) =>
      SEVERITY_RANK[a.severity] - SEVERITY_RANK[b.severity] ||
      byString(a.code, b.code) ||
      byString(a.subject, b.subject) ||
      byString(a.path ?? '', b.path ?? ''),
  );
}
