// The compiled access model: PVE's permission calculation (acl-semantics.md section C). compile()
// interns the configuration into AclIndex (integer sets per ACL node and member); a check resolves
// the path's ACL nodes, walks them for the subject and combines pools and token rules in scratch
// bitsets. Roles and explanations use the grant-level GrantIndex, built on first use.
import {
  AclIndex,
  S_NOTHING,
  S_PRIVSEP_TOKEN,
  S_ROOT,
  S_ROOT_PRIVSEP_TOKEN,
  S_SHARED_TOKEN,
  S_USER,
  isNormalizedPath,
} from './acl-index.ts';
import { builtinRoleSet, DEFAULT_PVE_VERSION } from './builtin-roles.ts';
import { AccessError } from './errors.ts';
import { buildExplanation, type Explanation, type WalkTrace } from './explain.ts';
import { GrantIndex, type Grant, type GrantPathInfo, type GrantRole } from './grant-index.ts';
import { byString, isValidUserId, normalizePath, parseTokenId } from './ids.ts';
import type { AclEntry, UserConfig } from './types.ts';

export const ROOT_USER = 'root@pam';
export const NO_ACCESS = 'NoAccess';
export const ADMINISTRATOR = 'Administrator';

/** A privilege or role map as PVE returns it: name → propagate flag. */
export type FlagMap = Record<string, 0 | 1>;

export interface CompileOptions {
  /** Built-in role table to use (`9.1`, `8.4`, `9.1.1`, …). Default: newest (9.1.1). */
  pveVersion?: string;
  /** Epoch seconds used for expiry in account status and explanations. Default: compile time. */
  now?: number;
}

export type SubjectKind = 'root' | 'user' | 'token' | 'invalid';

/** What the model knows about a subject id (for tools that must tell typos from real subjects). */
export interface SubjectInfo {
  id: string;
  kind: SubjectKind;
  /** user: has a `user:` line; token: the token is defined for an existing owner. */
  defined: boolean;
  /** user without `user:` line that a group or ACL still names (PVE computes privileges for it). */
  referenced: boolean;
  owner?: string;
  privsep?: boolean;
}

/** Account flags that PVE checks at authentication, not in the permission calculation (C14, D). */
export interface AccountStatus {
  subject: string;
  exists: boolean;
  enabled: boolean;
  /** User expiry passed (`expire != 0 && expire < now`). */
  expired: boolean;
  /** For tokens: the token's own expiry passed. */
  tokenExpired: boolean;
  /** Whether PVE would accept a login / request of this subject now. */
  canAuthenticate: boolean;
  reasons: string[];
}

interface CompiledRole extends GrantRole {
  readonly index: number;
  /** `words` privilege words. */
  readonly bits: Uint32Array;
}

interface TokenDef {
  readonly owner: string;
  readonly name: string;
  readonly privsep: boolean;
  readonly expire: number;
}

interface Principal {
  readonly id: string;
  readonly kind: SubjectKind;
  /** The user whose groups/ACLs count: the user itself, or a token's owner. */
  readonly userid: string;
  /** All groups of `userid`, in configuration order (for the grant-level walks). */
  readonly groups: readonly string[];
  readonly token: TokenDef | undefined;
  /** A token's owner. */
  readonly owner: Principal | undefined;
}

const MAX_CACHED_PRINCIPALS = 1 << 16;

export class AccessModel {
  /** libpve-access-control version of the role table in use. */
  readonly pveVersion: string;
  /** Epoch seconds used for expiry. */
  readonly now: number;
  /** Every privilege of this version, sorted. */
  readonly privileges: readonly string[];
  /** Problems found while compiling (entries PVE would not have stored). */
  readonly warnings: readonly string[];

  private readonly words: number;
  private readonly privIndex = new Map<string, number>();
  private readonly roleTable = new Map<string, CompiledRole>();
  private readonly userGroups = new Map<string, string[]>();
  private readonly tokens = new Map<string, TokenDef>();
  private readonly vmPool = new Map<string, string>();
  private readonly storagePools = new Map<string, string[]>();
  /** Per-subject parse results (id syntax, groups, token); bounded, never per path. */
  private readonly principals = new Map<string, Principal>();
  /** Valid ACL entries with normalised paths, in configuration order. */
  private readonly validAcl: AclEntry[] = [];
  private readonly index: AclIndex;
  private grantIndexCache: GrantIndex | undefined;
  /** Grant-level path chains for roles()/explain(), per path string (bounded like principals). */
  private readonly grantPaths = new Map<string, GrantPathInfo>();

  private constructor(
    private readonly config: UserConfig,
    options: CompileOptions,
  ) {
    const roleSet = builtinRoleSet(options.pveVersion ?? DEFAULT_PVE_VERSION);
    this.pveVersion = roleSet.version;
    this.now = options.now ?? Math.floor(Date.now() / 1000);
    this.privileges = roleSet.privileges;
    const w = (this.words = Math.ceil(this.privileges.length / 32));
    this.privileges.forEach((p, i) => this.privIndex.set(p, i));
    const warnings: string[] = [];

    for (const [id, privs] of Object.entries(roleSet.roles)) this.addRole(id, privs);
    const allBits = new Uint32Array(2 * w);
    const admin = this.roleTable.get(ADMINISTRATOR)!.bits;
    for (let i = 0; i < w; i++) allBits[i] = allBits[w + i] = admin[i]!;
    for (const role of config.roles.values()) {
      if (this.roleTable.has(role.roleid)) {
        warnings.push(`custom role '${role.roleid}' has a built-in name; the built-in role is used`);
        continue;
      }
      const privs = [...role.privs].filter((p) => {
        if (this.privIndex.has(p)) return true;
        warnings.push(`role '${role.roleid}': privilege '${p}' does not exist in PVE ${this.pveVersion}; ignored`);
        return false;
      });
      this.addRole(role.roleid, privs);
    }

    for (const group of config.groups.values()) {
      for (const member of group.members) {
        let list = this.userGroups.get(member);
        if (!list) this.userGroups.set(member, (list = []));
        list.push(group.groupid);
      }
    }
    for (const user of config.users.values()) {
      for (const token of user.tokens.values()) {
        this.tokens.set(`${user.userid}!${token.name}`, {
          owner: user.userid,
          name: token.name,
          privsep: token.privsep,
          expire: token.expire,
        });
      }
    }
    for (const pool of config.pools.values()) {
      for (const vmid of pool.vms) {
        const prev = this.vmPool.get(vmid);
        if (prev !== undefined && prev !== pool.poolid) {
          warnings.push(`VM ${vmid} is listed in pools '${prev}' and '${pool.poolid}'; PVE keeps '${prev}'`);
          continue;
        }
        this.vmPool.set(vmid, pool.poolid);
      }
      for (const storeid of pool.storage) {
        let list = this.storagePools.get(storeid);
        if (!list) this.storagePools.set(storeid, (list = []));
        list.push(pool.poolid);
      }
    }

    const entryRoles: number[] = [];
    for (const entry of config.acl) {
      const path = isNormalizedPath(entry.path) ? entry.path : normalizePath(entry.path);
      if (path === null) {
        warnings.push(`ACL entry for ${entry.type} '${entry.ugid}' has an invalid path '${entry.path}'; ignored`);
        continue;
      }
      const role = this.roleTable.get(entry.roleid);
      if (role === undefined) {
        warnings.push(
          `ACL on '${path}' for ${entry.type} '${entry.ugid}' names unknown role '${entry.roleid}'; ignored`,
        );
        continue;
      }
      this.validAcl.push(path === entry.path ? entry : { ...entry, path });
      entryRoles.push(role.index);
    }

    const roles = [...this.roleTable.values()];
    const roleBits = new Uint32Array(roles.length * w);
    const roleNoAccess = new Uint8Array(roles.length);
    for (const role of roles) {
      roleBits.set(role.bits, role.index * w);
      roleNoAccess[role.index] = role.noAccess ? 1 : 0;
    }
    this.index = new AclIndex({
      words: w,
      roleBits,
      roleNoAccess,
      entries: this.validAcl,
      entryRoles: Int32Array.from(entryRoles),
      vmPool: this.vmPool,
      storagePools: this.storagePools,
      poolIds: [...config.pools.keys()],
      allBits,
    });
    this.warnings = warnings;
  }

  /** Compiles a configuration into indexed structures. The config must not be mutated afterwards. */
  static compile(config: UserConfig, options: CompileOptions = {}): AccessModel {
    return new AccessModel(config, options);
  }

  // ---------------------------------------------------------------- public queries

  /**
   * Effective privileges of `subject` on `path` with PVE's propagate flag, like
   * `RPCEnvironment::permissions()` / `GET /access/permissions?path=`: role walk, pools, privsep
   * token intersection, root@pam. Account flags are ignored, as PVE ignores them here (C14).
   */
  permissions(subject: string, path: string): FlagMap {
    const bits = this.resultBits(subject, path);
    const out: FlagMap = {};
    const w = this.words;
    for (let i = 0; i < this.privileges.length; i++) {
      const word = i >>> 5;
      const mask = 1 << (i & 31);
      if (bits[word]! & mask) out[this.privileges[i]!] = bits[w + word]! & mask ? 1 : 0;
    }
    return out;
  }

  /** PVE's `check(subject, path, [priv])`. Unknown privilege names throw (UNKNOWN_PRIVILEGE). */
  hasPrivilege(subject: string, path: string, priv: string): boolean {
    const i = this.privIndex.get(priv);
    if (i === undefined) throw AccessError.unknownPrivilege(priv, this.pveVersion);
    return (this.resultBits(subject, path)[i >>> 5]! & (1 << (i & 31))) !== 0;
  }

  /** PVE's `check_any`: at least one of `privs`. */
  hasAnyPrivilege(subject: string, path: string, privs: readonly string[]): boolean {
    const bits = this.resultBits(subject, path);
    let found = false;
    for (const priv of privs) {
      const i = this.privIndex.get(priv);
      if (i === undefined) throw AccessError.unknownPrivilege(priv, this.pveVersion);
      if (bits[i >>> 5]! & (1 << (i & 31))) found = true;
    }
    return found;
  }

  /** PVE's `check` with several privileges: all of them. */
  hasAllPrivileges(subject: string, path: string, privs: readonly string[]): boolean {
    const bits = this.resultBits(subject, path);
    let all = true;
    for (const priv of privs) {
      const i = this.privIndex.get(priv);
      if (i === undefined) throw AccessError.unknownPrivilege(priv, this.pveVersion);
      if (!(bits[i >>> 5]! & (1 << (i & 31)))) all = false;
    }
    return all;
  }

  /**
   * The raw ACL role walk (`PVE::AccessControl::roles()`): no pools, no token intersection;
   * root@pam → Administrator; an empty path gives nothing (C7); other paths are normalised.
   */
  roles(subject: string, path: string): FlagMap {
    if (path === '') return {};
    const info = this.grantPathInfo(path);
    const p = this.principal(subject);
    if (p.kind === 'root' || (p.kind === 'token' && p.token && !p.token.privsep && p.userid === ROOT_USER)) {
      return { [ADMINISTRATOR]: 1 };
    }
    return roleMap(this.rawGrants(p, info));
  }

  /** `GET /access/permissions` without `path` (E1): every interesting path with its privileges. */
  effectivePermissions(subject: string): Record<string, FlagMap> {
    const out: Record<string, FlagMap> = {};
    for (const path of this.interestingPaths()) {
      const perms = this.permissions(subject, path);
      if (Object.keys(perms).length > 0) out[path] = perms;
    }
    return out;
  }

  /** Default paths, every path in the ACL tree (with its ancestors) and every pool member path. */
  interestingPaths(): string[] {
    const paths = new Set(['/', '/access', '/access/groups', '/nodes', '/pool', '/sdn', '/storage', '/vms']);
    for (const path of this.index.nodePaths) {
      paths.add(path);
      for (let i = path.lastIndexOf('/'); i > 0; i = path.lastIndexOf('/', i - 1)) paths.add(path.slice(0, i));
    }
    for (const pool of this.config.pools.values()) {
      for (const vmid of pool.vms) paths.add(`/vms/${vmid}`);
      for (const storeid of pool.storage) paths.add(`/storage/${storeid}`);
    }
    return [...paths].sort(byString);
  }

  /** Whether `subject` is root, a known user/token, merely referenced, or not a valid id. */
  describeSubject(subject: string): SubjectInfo {
    const p = this.principal(subject);
    if (p.kind === 'invalid') return { id: subject, kind: 'invalid', defined: false, referenced: false };
    if (p.kind === 'token') {
      return {
        id: subject,
        kind: 'token',
        defined: p.token !== undefined,
        referenced: false,
        owner: p.userid,
        ...(p.token ? { privsep: p.token.privsep } : {}),
      };
    }
    return {
      id: subject,
      kind: p.kind,
      defined: this.config.users.has(subject) || p.kind === 'root',
      // A user without a `user:` line that a group or an ACL entry still names.
      referenced: !this.config.users.has(subject) && (this.userGroups.has(subject) || this.index.namesUser(subject)),
    };
  }

  /** The authentication-time view (D1–D3): enabled, not expired, token not expired. */
  accountStatus(subject: string): AccountStatus {
    const p = this.principal(subject);
    const user = this.config.users.get(p.userid);
    const reasons: string[] = [];
    const exists = p.kind === 'token' ? user !== undefined && p.token !== undefined : user !== undefined;
    if (!user) reasons.push(`user '${p.userid}' does not exist`);
    else if (p.kind === 'token' && !p.token) reasons.push(`token '${subject}' does not exist`);
    const enabled = user?.enable ?? false;
    if (user && !enabled) reasons.push(`user '${p.userid}' is disabled`);
    const expired = user !== undefined && user.expire !== 0 && user.expire < this.now;
    if (expired) reasons.push(`user '${p.userid}' expired at ${isoTime(user.expire)}`);
    const tokenExpired = p.token !== undefined && p.token.expire !== 0 && p.token.expire < this.now;
    if (tokenExpired) reasons.push(`token '${subject}' expired at ${isoTime(p.token!.expire)}`);
    return {
      subject,
      exists,
      enabled,
      expired,
      tokenExpired,
      canAuthenticate: exists && enabled && !expired && !tokenExpired,
      reasons,
    };
  }

  /** Why `subject` has or lacks `priv` on `path`: structured steps plus sentences for operators. */
  explain(subject: string, path: string, priv: string): Explanation {
    if (!this.privIndex.has(priv)) throw AccessError.unknownPrivilege(priv, this.pveVersion);
    const info = this.grantPathInfo(path);
    const p = this.principal(subject);
    const granted = this.hasPrivilege(subject, info.path, priv);
    const perms = this.permissions(subject, info.path);
    const grants = this.grantIndex();
    const trace = (walkFor: Principal, at: GrantPathInfo, asToken: boolean): WalkTrace =>
      grants.trace(asToken ? walkFor.id : walkFor.userid, walkFor.groups, at, asToken, priv);
    const poolWalk = (walkFor: Principal, asToken: boolean): { pool: string; trace: WalkTrace }[] =>
      info.pools.map((pool) => ({ pool, trace: trace(walkFor, this.grantPathInfo(`/pool/${pool}`), asToken) }));
    const owner = p.owner;
    return buildExplanation({
      subject,
      path: info.path,
      priv,
      granted,
      propagate: granted ? perms[priv]! : null,
      kind: p.kind,
      token: p.token ? { owner: p.token.owner, privsep: p.token.privsep } : undefined,
      tokenOwner: p.kind === 'token' ? p.userid : undefined,
      userDefined: p.kind === 'token' ? this.config.users.has(p.userid) : this.config.users.has(subject),
      vmid: /^\/vms\/(\d+)$/.exec(info.path)?.[1],
      storeid: /^\/storage\/([^/]+)$/.exec(info.path)?.[1],
      pools: info.pools,
      // The walks that matter: the subject's own (token entries for a privsep token, else the user's).
      direct:
        p.kind === 'user' || (p.kind === 'token' && p.token !== undefined)
          ? trace(p, info, p.kind === 'token' && p.token!.privsep)
          : undefined,
      directPools:
        p.kind === 'user' || (p.kind === 'token' && p.token !== undefined)
          ? poolWalk(p, p.kind === 'token' && p.token!.privsep)
          : [],
      ownerDirect: owner && p.token?.privsep && owner.kind === 'user' ? trace(owner, info, false) : undefined,
      ownerPools: owner && p.token?.privsep && owner.kind === 'user' ? poolWalk(owner, false) : [],
      ownerHas: owner && p.token?.privsep ? this.hasPrivilege(owner.id, info.path, priv) : undefined,
      ownerPropagate: owner && p.token?.privsep ? (this.permissions(owner.id, info.path)[priv] ?? null) : undefined,
      tokenOwnHas: p.kind === 'token' && p.token?.privsep ? this.tokenOwnHas(subject, info.path, priv) : undefined,
      account: this.accountStatus(subject),
    });
  }

  // ---------------------------------------------------------------- internals

  private addRole(id: string, privs: readonly string[]): void {
    const sortedPrivs = [...new Set(privs)].sort(byString);
    const bits = new Uint32Array(this.words);
    for (const priv of sortedPrivs) {
      const i = this.privIndex.get(priv);
      if (i !== undefined) bits[i >>> 5] = bits[i >>> 5]! | (1 << (i & 31));
    }
    this.roleTable.set(id, { id, index: this.roleTable.size, bits, noAccess: id === NO_ACCESS, privs: sortedPrivs });
  }

  private principal(subject: string): Principal {
    const cached = this.principals.get(subject);
    if (cached) return cached;
    let kind: SubjectKind;
    let userid = subject;
    let token: TokenDef | undefined;
    let owner: Principal | undefined;
    if (subject === ROOT_USER) kind = 'root';
    else if (isValidUserId(subject)) kind = 'user';
    else {
      const parsed = parseTokenId(subject);
      if (parsed) {
        kind = 'token';
        userid = parsed.userid;
        token = this.tokens.get(subject);
        owner = this.principal(userid);
      } else kind = 'invalid';
    }
    const groups = kind === 'invalid' ? [] : (this.userGroups.get(userid) ?? []);
    const p: Principal = {
      id: subject,
      kind,
      userid,
      groups,
      token,
      owner,
    };
    if (this.principals.size >= MAX_CACHED_PRINCIPALS) this.principals.clear();
    this.principals.set(subject, p);
    return p;
  }

  /** The check record of a subject: what its id, groups and token definition mean for a check. */
  private addSubject(subject: string): number {
    const p = this.principal(subject);
    let kind: number;
    if (p.kind === 'root') kind = S_ROOT;
    else if (p.kind === 'user') kind = S_USER;
    else if (p.kind === 'token' && p.token) {
      const rootOwner = p.owner!.kind === 'root';
      if (p.token.privsep) kind = rootOwner ? S_ROOT_PRIVSEP_TOKEN : S_PRIVSEP_TOKEN;
      else kind = rootOwner ? S_ROOT : S_SHARED_TOKEN; // C13: exactly the owner
    } else kind = S_NOTHING; // invalid ids, undefined tokens (C8)
    return this.index.addSubject(subject, { kind, userid: p.userid, groups: p.groups, tokenid: subject });
  }

  /** The check record of a path (normalised first; INVALID_PATH when it cannot be). */
  private addPath(raw: string): number {
    const path = isNormalizedPath(raw) ? raw : normalizePath(raw);
    if (path === null) throw AccessError.invalidPath(raw);
    return this.index.addPath(raw, path);
  }

  /**
   * Effective privilege bits of a check: words [0, w) granted, [w, 2w) propagate flags. The
   * returned array is a shared scratch set or constant: read it before the next check.
   */
  private resultBits(subject: string, path: string): Uint32Array {
    const index = this.index;
    const s = index.subjectRecord(subject) ?? this.addSubject(subject);
    const p = index.pathRecord(path) ?? this.addPath(path);
    return index.check(s, p);
  }

  private tokenOwnHas(subject: string, path: string, priv: string): boolean {
    const i = this.privIndex.get(priv)!;
    const index = this.index;
    const s = index.subjectRecord(subject) ?? this.addSubject(subject);
    const bits = index.tokenOwnBits(s, index.pathRecord(path) ?? this.addPath(path));
    return (bits[i >>> 5]! & (1 << (i & 31))) !== 0;
  }

  private grantIndex(): GrantIndex {
    return (this.grantIndexCache ??= new GrantIndex(this.validAcl, this.roleTable));
  }

  private grantPathInfo(raw: string): GrantPathInfo {
    const cached = this.grantPaths.get(raw);
    if (cached) return cached;
    const path = normalizePath(raw);
    if (path === null) throw AccessError.invalidPath(raw);
    const info = this.grantIndex().pathInfo(path, this.vmPool, this.storagePools);
    if (this.grantPaths.size >= MAX_CACHED_PRINCIPALS) this.grantPaths.clear();
    this.grantPaths.set(raw, info);
    return info;
  }

  /** Raw role walk grants for roles(): tokens without privsep resolve as their owner (C8). */
  private rawGrants(p: Principal, info: GrantPathInfo): readonly Grant[] {
    const grants = this.grantIndex();
    if (p.kind === 'user') return grants.walkUser(p.userid, p.groups, info);
    if (p.kind === 'token' && p.token) {
      return p.token.privsep ? grants.walkToken(p.id, info) : grants.walkUser(p.userid, p.owner!.groups, info);
    }
    return [];
  }
}

/** Grants → role map with NoAccess collapse (C6); a role granted twice keeps a set flag. */
function roleMap(grants: readonly Grant[]): FlagMap {
  const out: FlagMap = {};
  for (const g of grants) {
    if (g.role.noAccess) return { [NO_ACCESS]: g.propagate ? 1 : 0 };
    out[g.roleid] = out[g.roleid] === 1 || g.propagate ? 1 : 0;
  }
  return out;
}

function isoTime(epoch: number): string {
  return new Date(epoch * 1000).toISOString();
}
