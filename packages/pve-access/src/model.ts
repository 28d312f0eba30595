// The compiled access model: PVE's permission calculation (acl-semantics.md section C) over
// indexed structures. compile() does all the per-config work once; a check walks at most the
// path's depth in per-path ACL maps, and results are memoised per (subject, path).
import { builtinRoleSet, DEFAULT_PVE_VERSION } from './builtin-roles.ts';
import { AccessError } from './errors.ts';
import { byString, isValidUserId, normalizePath, parseTokenId } from './ids.ts';
import type { AclEntry, UserConfig } from './types.ts';
import { buildExplanation, type Explanation, type WalkTrace, type TraceEntry } from './explain.ts';

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

interface CompiledRole {
  readonly id: string;
  readonly bits: Bits;
  readonly noAccess: boolean;
  readonly privs: readonly string[];
}

/** One ACL grant at a node, pointing back at the entry for explanations. */
export interface Grant {
  readonly roleid: string;
  readonly propagate: boolean;
  readonly role: CompiledRole;
  readonly entry: AclEntry;
}

interface AclNode {
  readonly path: string;
  readonly users: Map<string, Grant[]>;
  readonly usersProp: Map<string, Grant[]>;
  readonly groups: Map<string, Grant[]>;
  readonly groupsProp: Map<string, Grant[]>;
  readonly tokens: Map<string, Grant[]>;
  readonly tokensProp: Map<string, Grant[]>;
}

interface PathInfo {
  readonly path: string;
  /** Nodes with ACL entries on the way from the path up to `/`, deepest first. */
  readonly chain: readonly AclNode[];
  readonly target: AclNode | undefined;
  /** Pools whose roles attach at this exact path (C10). */
  readonly pools: readonly string[];
  /** Path info of `/pool/<id>` for each of `pools`. */
  readonly poolInfos: readonly PathInfo[];
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
  readonly groups: readonly string[];
  readonly groupSet: ReadonlySet<string>;
  readonly token: TokenDef | undefined;
  /**
   * Per ACL node, the grants that decide for this walker there (built on first use): as the
   * target node (all entries) and as an ancestor (propagating ones only); user entries already
   * win over the union of the groups' (C3). Nodes where nothing applies are absent.
   */
  userIndex: Map<AclNode, DecidingGrants> | undefined;
  tokenIndex: Map<AclNode, DecidingGrants> | undefined;
}

interface DecidingGrants {
  readonly asTarget: readonly Grant[] | undefined;
  readonly asAncestor: readonly Grant[] | undefined;
}

const EMPTY_GRANTS: readonly Grant[] = Object.freeze([]);

/** Privilege bitset: words [0, w) granted, [w, 2w) propagate flags (plain arrays allocate cheaply). */
type Bits = number[];
const newBits = (words: number): Bits => new Array<number>(2 * words).fill(0);
const MAX_CACHED_PATHS = 1 << 18;

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
  private readonly nodes = new Map<string, AclNode>();
  private readonly userGroups = new Map<string, string[]>();
  private readonly tokens = new Map<string, TokenDef>();
  private readonly vmPool = new Map<string, string>();
  private readonly storagePools = new Map<string, string[]>();
  private readonly principals = new Map<string, Principal>();
  private readonly pathCache = new Map<string, PathInfo>();
  private readonly referencedUsers = new Set<string>();
  /** Member → the ACL nodes that name it (feeds the per-principal indexes). */
  private readonly userNodes = new Map<string, AclNode[]>();
  private readonly groupNodes = new Map<string, AclNode[]>();
  private readonly tokenNodes = new Map<string, AclNode[]>();
  private readonly allBits: Bits;
  private readonly emptyBits: Bits;
  /** Bits of a deciding grant list (keyed by the shared array), merged pool bits, token intersections. */
  private readonly grantBits = new Map<readonly Grant[], Bits>();
  private readonly pooledBits = new Map<Bits, Map<Bits, Bits>>();
  private readonly intersectedBits = new Map<Bits, Map<Bits, Bits>>();
  /** All zero like emptyBits, but marks "NoAccess decided" (C6, C11). */
  private readonly noAccessBits: Bits;

  private constructor(
    private readonly config: UserConfig,
    options: CompileOptions,
  ) {
    const roleSet = builtinRoleSet(options.pveVersion ?? DEFAULT_PVE_VERSION);
    this.pveVersion = roleSet.version;
    this.now = options.now ?? Math.floor(Date.now() / 1000);
    this.privileges = roleSet.privileges;
    this.words = Math.ceil(this.privileges.length / 32);
    this.privileges.forEach((p, i) => this.privIndex.set(p, i));
    this.emptyBits = newBits(this.words);
    this.noAccessBits = newBits(this.words);
    const warnings: string[] = [];

    for (const [id, privs] of Object.entries(roleSet.roles)) this.addRole(id, privs);
    this.allBits = this.bitsOf(this.roleTable.get(ADMINISTRATOR)!.privs, true);
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
        if (!config.users.has(member)) this.referencedUsers.add(member);
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

    // Later duplicates of (path, member, role) win, as in the user.cfg parser.
    const latest = new Map<string, AclEntry>();
    for (const entry of config.acl) {
      const path = normalizePath(entry.path);
      if (path === null) {
        warnings.push(`ACL entry for ${entry.type} '${entry.ugid}' has an invalid path '${entry.path}'; ignored`);
        continue;
      }
      if (!this.roleTable.has(entry.roleid)) {
        warnings.push(
          `ACL on '${path}' for ${entry.type} '${entry.ugid}' names unknown role '${entry.roleid}'; ignored`,
        );
        continue;
      }
      latest.set(
        `${path}\0${entry.type}\0${entry.ugid}\0${entry.roleid}`,
        path === entry.path ? entry : { ...entry, path },
      );
    }
    for (const entry of latest.values()) {
      const node = this.nodeFor(entry.path);
      const grant: Grant = {
        roleid: entry.roleid,
        propagate: entry.propagate,
        role: this.roleTable.get(entry.roleid)!,
        entry,
      };
      const [all, prop] =
        entry.type === 'user'
          ? [node.users, node.usersProp]
          : entry.type === 'group'
            ? [node.groups, node.groupsProp]
            : [node.tokens, node.tokensProp];
      if (!all.has(entry.ugid)) {
        const byMember =
          entry.type === 'user' ? this.userNodes : entry.type === 'group' ? this.groupNodes : this.tokenNodes;
        const list = byMember.get(entry.ugid);
        if (list) list.push(node);
        else byMember.set(entry.ugid, [node]);
      }
      push(all, entry.ugid, grant);
      if (entry.propagate) push(prop, entry.ugid, grant);
      if (entry.type === 'user' && !config.users.has(entry.ugid)) this.referencedUsers.add(entry.ugid);
    }
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
    const info = this.pathInfo(path);
    const p = this.principal(subject);
    if (p.kind === 'root' || (p.kind === 'token' && p.token && !p.token.privsep && p.userid === ROOT_USER)) {
      return { [ADMINISTRATOR]: 1 };
    }
    const grants = this.rawGrants(p, info);
    return roleMap(grants);
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
    for (const path of this.nodes.keys()) {
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
      referenced: this.referencedUsers.has(subject),
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
    const info = this.pathInfo(path);
    const p = this.principal(subject);
    const granted = this.hasPrivilege(subject, info.path, priv);
    const perms = this.permissions(subject, info.path);
    const poolWalk = (walkFor: Principal, asToken: boolean): { pool: string; trace: WalkTrace }[] =>
      info.pools.map((pool) => ({ pool, trace: this.trace(walkFor, this.pathInfo(`/pool/${pool}`), asToken, priv) }));
    const owner = p.kind === 'token' ? this.principal(p.userid) : undefined;
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
          ? this.trace(p, info, p.kind === 'token' && p.token!.privsep, priv)
          : undefined,
      directPools:
        p.kind === 'user' || (p.kind === 'token' && p.token !== undefined)
          ? poolWalk(p, p.kind === 'token' && p.token!.privsep)
          : [],
      ownerDirect:
        owner && p.token?.privsep && owner.kind === 'user' ? this.trace(owner, info, false, priv) : undefined,
      ownerPools: owner && p.token?.privsep && owner.kind === 'user' ? poolWalk(owner, false) : [],
      ownerHas: owner && p.token?.privsep ? this.hasPrivilege(owner.id, info.path, priv) : undefined,
      ownerPropagate: owner && p.token?.privsep ? (this.permissions(owner.id, info.path)[priv] ?? null) : undefined,
      tokenOwnHas: p.kind === 'token' && p.token?.privsep ? this.tokenOwnBits(p, info, priv) : undefined,
      account: this.accountStatus(subject),
    });
  }

  // ---------------------------------------------------------------- internals

  private addRole(id: string, privs: readonly string[]): void {
    const sortedPrivs = [...new Set(privs)].sort(byString);
    this.roleTable.set(id, {
      id,
      bits: this.bitsOf(sortedPrivs, false).slice(0, this.words),
      noAccess: id === NO_ACCESS,
      privs: sortedPrivs,
    });
  }

  private bitsOf(privs: readonly string[], propagate: boolean): Bits {
    const bits = newBits(this.words);
    for (const priv of privs) {
      const i = this.privIndex.get(priv);
      if (i === undefined) continue;
      bits[i >>> 5] = bits[i >>> 5]! | (1 << (i & 31));
      if (propagate) bits[this.words + (i >>> 5)] = bits[this.words + (i >>> 5)]! | (1 << (i & 31));
    }
    return bits;
  }

  private nodeFor(path: string): AclNode {
    let node = this.nodes.get(path);
    if (!node) {
      node = {
        path,
        users: new Map(),
        usersProp: new Map(),
        groups: new Map(),
        groupsProp: new Map(),
        tokens: new Map(),
        tokensProp: new Map(),
      };
      this.nodes.set(path, node);
    }
    return node;
  }

  private pathInfo(raw: string): PathInfo {
    const cached = this.pathCache.get(raw);
    if (cached) return cached;
    const path = normalizePath(raw);
    if (path === null) throw AccessError.invalidPath(raw);
    const normalized = path === raw ? undefined : this.pathCache.get(path);
    const info = normalized ?? this.buildPathInfo(path);
    if (this.pathCache.size >= MAX_CACHED_PATHS) this.pathCache.clear();
    this.pathCache.set(raw, info);
    if (path !== raw) this.pathCache.set(path, info);
    return info;
  }

  private buildPathInfo(path: string): PathInfo {
    const chain: AclNode[] = [];
    const target = this.nodes.get(path);
    if (target) chain.push(target);
    if (path !== '/') {
      for (let i = path.lastIndexOf('/'); i >= 0; i = i === 0 ? -1 : path.lastIndexOf('/', i - 1)) {
        const node = this.nodes.get(i === 0 ? '/' : path.slice(0, i));
        if (node) chain.push(node);
      }
    }
    let pools: string[] = [];
    const vm = /^\/vms\/(\d+)$/.exec(path);
    if (vm) {
      const pool = this.vmPool.get(vm[1]!);
      if (pool !== undefined) pools = [pool];
    } else {
      const store = /^\/storage\/([^/]+)$/.exec(path);
      if (store) pools = this.storagePools.get(store[1]!) ?? [];
    }
    return { path, chain, target, pools, poolInfos: pools.map((pool) => this.pathInfo(`/pool/${pool}`)) };
  }

  private principal(subject: string): Principal {
    let p = this.principals.get(subject);
    if (p) return p;
    let kind: SubjectKind;
    let userid = subject;
    let token: TokenDef | undefined;
    if (subject === ROOT_USER) kind = 'root';
    else if (isValidUserId(subject)) kind = 'user';
    else {
      const parsed = parseTokenId(subject);
      if (parsed) {
        kind = 'token';
        userid = parsed.userid;
        token = this.tokens.get(subject);
      } else kind = 'invalid';
    }
    const groups = kind === 'invalid' ? [] : (this.userGroups.get(userid) ?? []);
    p = {
      id: subject,
      kind,
      userid,
      groups,
      groupSet: new Set(groups),
      token,
      userIndex: undefined,
      tokenIndex: undefined,
    };
    this.principals.set(subject, p);
    return p;
  }

  /**
   * Effective privilege bits: words [0, w) granted, [w, 2w) propagate flags. No per-(subject, path)
   * memo: the walk is a few map lookups in the principal's node index, and the bits of each
   * deciding grant list, pool merge and token intersection are computed once and shared.
   */
  private resultBits(subject: string, path: string): Bits {
    const p = this.principals.get(subject) ?? this.principal(subject);
    const info = this.pathCache.get(path) ?? this.pathInfo(path);
    return this.computeBits(p, info);
  }

  private computeBits(p: Principal, info: PathInfo): Bits {
    switch (p.kind) {
      case 'root':
        return this.allBits;
      case 'user':
        return this.subjectBits(p, info, false);
      case 'token': {
        const token = p.token;
        if (!token) return this.emptyBits; // undefined tokens get nothing (C8)
        const owner = this.principals.get(p.userid) ?? this.principal(p.userid);
        const ownerBits = this.computeBits(owner, info);
        if (!token.privsep) return ownerBits; // C13
        const own = this.subjectBits(p, info, true);
        if (owner.kind === 'root') return own; // root's privsep tokens: own ACLs only (C12)
        return this.intersect(own, ownerBits);
      }
      default:
        return this.emptyBits;
    }
  }

  /** C9–C11 for one walker (a user, or a privsep token's own entries): direct roles + pool roles. */
  private subjectBits(p: Principal, info: PathInfo, asToken: boolean): Bits {
    const direct = this.bitsFor(asToken ? this.walkToken(p, info) : this.walkUser(p, info));
    const pools = info.poolInfos;
    if (pools.length === 0) return direct;
    if (direct === this.noAccessBits) return direct; // a pool cannot lift a direct NoAccess
    let out = direct;
    for (let i = 0; i < pools.length; i++) {
      const pool = this.bitsFor(asToken ? this.walkToken(p, pools[i]!) : this.walkUser(p, pools[i]!));
      if (pool === this.noAccessBits) return pool; // pool NoAccess beats direct grants
      out = this.withPool(out, pool);
    }
    return out;
  }

  /** Bits of one deciding grant list (NoAccess collapse → noAccessBits), computed once per list. */
  private bitsFor(grants: readonly Grant[]): Bits {
    if (grants.length === 0) return this.emptyBits;
    let bits = this.grantBits.get(grants);
    if (bits === undefined) {
      if (hasNoAccess(grants)) bits = this.noAccessBits;
      else {
        bits = newBits(this.words);
        this.accumulate(grants, bits, true);
      }
      this.grantBits.set(grants, bits);
    }
    return bits;
  }

  /** Adds pool roles: their privileges join with propagate 0 unless already granted directly (C11). */
  private withPool(direct: Bits, pool: Bits): Bits {
    let byPool = this.pooledBits.get(direct);
    if (byPool === undefined) this.pooledBits.set(direct, (byPool = new Map()));
    let out = byPool.get(pool);
    if (out === undefined) {
      out = direct.slice();
      for (let i = 0; i < this.words; i++) out[i] = out[i]! | pool[i]!;
      byPool.set(pool, out);
    }
    return out;
  }

  /** C12: privileges in both, each flag the AND of both. */
  private intersect(a: Bits, b: Bits): Bits {
    let byB = this.intersectedBits.get(a);
    if (byB === undefined) this.intersectedBits.set(a, (byB = new Map()));
    let out = byB.get(b);
    if (out === undefined) {
      out = a.map((word, i) => word & b[i]!);
      byB.set(b, out);
    }
    return out;
  }

  private tokenOwnBits(p: Principal, info: PathInfo, priv: string): boolean {
    const i = this.privIndex.get(priv)!;
    return (this.subjectBits(p, info, true)[i >>> 5]! & (1 << (i & 31))) !== 0;
  }

  private accumulate(grants: readonly Grant[], out: Bits, withFlags: boolean): void {
    const w = this.words;
    for (const g of grants) {
      const bits = g.role.bits;
      for (let i = 0; i < w; i++) {
        out[i] = out[i]! | bits[i]!;
        if (withFlags && g.propagate) out[w + i] = out[w + i]! | bits[i]!;
      }
    }
  }

  /** Raw role walk grants for roles(): tokens without privsep resolve as their owner (C8). */
  private rawGrants(p: Principal, info: PathInfo): readonly Grant[] {
    if (p.kind === 'user') return this.walkUser(p, info);
    if (p.kind === 'token' && p.token) {
      return p.token.privsep ? this.walkToken(p, info) : this.walkUser(this.principal(p.userid), info);
    }
    return EMPTY_GRANTS;
  }

  /**
   * C2–C5 for a user: the deepest node with entries that apply decides (user entries before the
   * union of the user's groups); everything above it is replaced.
   */
  private walkUser(p: Principal, info: PathInfo): readonly Grant[] {
    const index = p.userIndex ?? this.buildUserIndex(p);
    const { chain, target } = info;
    for (let n = 0; n < chain.length; n++) {
      const node = chain[n]!;
      const d = index.get(node);
      if (d === undefined) continue;
      const grants = node === target ? d.asTarget : d.asAncestor;
      if (grants !== undefined) return grants;
    }
    return EMPTY_GRANTS;
  }

  /** C8 for a privsep token: only entries naming the token id count. */
  private walkToken(p: Principal, info: PathInfo): readonly Grant[] {
    const index = p.tokenIndex ?? this.buildTokenIndex(p);
    const { chain, target } = info;
    for (let n = 0; n < chain.length; n++) {
      const node = chain[n]!;
      const d = index.get(node);
      if (d === undefined) continue;
      const grants = node === target ? d.asTarget : d.asAncestor;
      if (grants !== undefined) return grants;
    }
    return EMPTY_GRANTS;
  }

  private buildUserIndex(p: Principal): Map<AclNode, DecidingGrants> {
    const own = this.userNodes.get(p.userid) ?? [];
    const nodes = new Set<AclNode>(own);
    for (const gid of p.groups) for (const node of this.groupNodes.get(gid) ?? []) nodes.add(node);
    const index = new Map<AclNode, DecidingGrants>();
    for (const node of nodes) {
      const pick = (users: Map<string, Grant[]>, groups: Map<string, Grant[]>): Grant[] | undefined => {
        const mine = users.get(p.userid);
        if (mine !== undefined) return mine;
        const union: Grant[] = [];
        for (const gid of p.groups) union.push(...(groups.get(gid) ?? []));
        return union.length > 0 ? union : undefined;
      };
      const d = { asTarget: pick(node.users, node.groups), asAncestor: pick(node.usersProp, node.groupsProp) };
      if (d.asTarget !== undefined || d.asAncestor !== undefined) index.set(node, d);
    }
    p.userIndex = index;
    return index;
  }

  private buildTokenIndex(p: Principal): Map<AclNode, DecidingGrants> {
    const index = new Map<AclNode, DecidingGrants>();
    for (const node of this.tokenNodes.get(p.id) ?? []) {
      index.set(node, { asTarget: node.tokens.get(p.id), asAncestor: node.tokensProp.get(p.id) });
    }
    p.tokenIndex = index;
    return index;
  }

  /** The same walk as walkUser/walkToken, recording every entry seen and why it did or did not count. */
  private trace(p: Principal, info: PathInfo, asToken: boolean, priv: string): WalkTrace {
    const entries: TraceEntry[] = [];
    let decidedAt: string | null = null;
    let decidedBy: 'token' | 'user' | 'group' | null = null;
    const member = asToken ? p.id : p.userid;
    for (const node of info.chain) {
      const isTarget = node === info.target;
      const classes: ['token' | 'user' | 'group', Grant[]][] = [];
      if (asToken) {
        const g = node.tokens.get(member);
        if (g) classes.push(['token', g]);
      } else {
        const u = node.users.get(member);
        if (u) classes.push(['user', u]);
        const gs: Grant[] = [];
        for (const gid of p.groups) gs.push(...(node.groups.get(gid) ?? []));
        if (gs.length) classes.push(['group', gs]);
      }
      for (const [cls, grants] of classes) {
        const applicable = grants.filter((g) => isTarget || g.propagate);
        const decides = decidedAt === null && applicable.length > 0;
        if (decides) {
          decidedAt = node.path;
          decidedBy = cls;
        }
        for (const g of grants) {
          const applies = isTarget || g.propagate;
          let status: TraceEntry['status'];
          if (!applies) status = 'not-propagating';
          else if (decidedAt === node.path && decidedBy === cls) status = 'counts';
          else if (decidedAt === node.path) status = 'user-beats-group';
          else status = 'replaced-by-deeper';
          entries.push({
            path: node.path,
            type: g.entry.type,
            ugid: g.entry.ugid,
            roleid: g.roleid,
            propagate: g.propagate,
            status,
            containsPrivilege: g.role.privs.includes(priv),
          });
        }
      }
    }
    const counting = entries.filter((e) => e.status === 'counts');
    const noAccess = counting.find((e) => e.roleid === NO_ACCESS);
    if (noAccess) for (const e of counting) if (e !== noAccess) e.status = 'wiped-by-noaccess';
    entries.reverse(); // root first, as an operator reads a path
    return { subject: member, path: info.path, decidedAt, decidedBy, noAccess: noAccess !== undefined, entries };
  }
}

function push(map: Map<string, Grant[]>, key: string, grant: Grant): void {
  const list = map.get(key);
  if (list) list.push(grant);
  else map.set(key, [grant]);
}

function hasNoAccess(grants: readonly Grant[]): boolean {
  for (const g of grants) if (g.role.noAccess) return true;
  return false;
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
