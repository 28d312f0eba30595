// Every permission decision of the simulator goes through this module. It implements PVE's
// permission calculation as specified in shared/pve/acl-semantics.md (sections C and E3):
// path walk with replacement, user-beats-group per node, NoAccess collapse, pool roles at exact
// member paths, privsep token intersection, root@pam as superuser.
import { type AccessConfig, isTokenId } from './access-config.ts';
import { ALL_PRIVILEGES, BUILTIN_ROLES } from './builtin-roles.ts';

/** privilege → propagate flag */
export type PrivilegeMap = Map<string, 0 | 1>;
type RoleMap = Map<string, 0 | 1>;

const ROOT = 'root@pam';

export class PermissionEngine {
  readonly #config: AccessConfig;
  #cacheVersion = -1;
  readonly #cache = new Map<string, PrivilegeMap>();

  constructor(config: AccessConfig) {
    this.#config = config;
  }

  roleExists(roleid: string): boolean {
    return roleid in BUILTIN_ROLES || this.#config.customRoles.has(roleid);
  }

  rolePrivileges(roleid: string): readonly string[] {
    const builtin = BUILTIN_ROLES[roleid];
    if (builtin) return builtin;
    return [...(this.#config.customRoles.get(roleid) ?? [])].sort();
  }

  /** Effective privileges of a user id or token id at a (normalised) path. */
  permissions(subject: string, path: string): PrivilegeMap {
    if (this.#cacheVersion !== this.#config.version) {
      this.#cache.clear();
      this.#cacheVersion = this.#config.version;
    }
    const key = `${subject}\u0000${path}`;
    let result = this.#cache.get(key);
    if (!result) {
      result = this.#compute(subject, path);
      this.#cache.set(key, result);
    }
    return result;
  }

  hasPrivilege(subject: string, path: string, priv: string): boolean {
    return this.permissions(subject, path).has(priv);
  }

  /** `check` (all) or `check_any` of acl-semantics.md C15. */
  check(subject: string, path: string, privs: readonly string[], any = false): boolean {
    const perms = this.permissions(subject, path);
    return any ? privs.some((p) => perms.has(p)) : privs.every((p) => perms.has(p));
  }

  #compute(subject: string, path: string): PrivilegeMap {
    if (subject === ROOT) return allPrivileges();
    if (isTokenId(subject)) {
      const token = this.#config.tokens.get(subject);
      if (!token) return new Map();
      if (!token.privsep) return this.#privilegesOf(token.userid, path, false);
      const own = this.#privilegesOf(subject, path, true);
      if (token.userid === ROOT) return own;
      const owner = this.#privilegesOf(token.userid, path, false);
      const out: PrivilegeMap = new Map();
      for (const [priv, flag] of own) {
        const ownerFlag = owner.get(priv);
        if (ownerFlag !== undefined) out.set(priv, (flag & ownerFlag) as 0 | 1);
      }
      return out;
    }
    return this.#privilegesOf(subject, path, false);
  }

  #privilegesOf(subject: string, path: string, asToken: boolean): PrivilegeMap {
    if (!asToken && subject === ROOT) return allPrivileges();
    const direct = this.#resolveRoles(subject, path, asToken);
    let roles = direct;
    const poolRoles = this.#poolRoles(subject, path, asToken);
    if (poolRoles && !direct.has('NoAccess')) {
      if (poolRoles.has('NoAccess')) roles = new Map([['NoAccess', poolRoles.get('NoAccess') as 0 | 1]]);
      else {
        roles = new Map(direct);
        for (const role of poolRoles.keys()) if (!roles.has(role)) roles.set(role, 0);
      }
    }
    const privs: PrivilegeMap = new Map();
    for (const [role, flag] of roles) {
      for (const priv of this.rolePrivileges(role)) privs.set(priv, ((privs.get(priv) ?? 0) | flag) as 0 | 1);
    }
    return privs;
  }

  /** Roles the pools of a member path add (C10), or undefined when the path is not a pool member path. */
  #poolRoles(subject: string, path: string, asToken: boolean): RoleMap | undefined {
    const m = /^\/(vms|storage)\/([^/]+)$/.exec(path);
    if (!m) return undefined;
    const pools = [...this.#config.pools.values()].filter((p) =>
      m[1] === 'vms' ? p.vms.has(Number(m[2])) && String(Number(m[2])) === m[2] : p.storage.has(m[2] as string),
    );
    if (pools.length === 0) return undefined;
    const out: RoleMap = new Map();
    for (const pool of pools) {
      for (const [role, flag] of this.#resolveRoles(subject, `/pool/${pool.poolid}`, asToken)) {
        out.set(role, ((out.get(role) ?? 0) | flag) as 0 | 1);
      }
    }
    if (out.has('NoAccess')) return new Map([['NoAccess', out.get('NoAccess') as 0 | 1]]);
    return out;
  }

  /** The role walk of C2–C8. `asToken`: the subject is a privsep token and only its own entries count. */
  #resolveRoles(subject: string, path: string, asToken: boolean): RoleMap {
    if (path === '') return new Map();
    const groups = asToken ? [] : this.#config.groupsOf(subject).map((g) => `@${g}`);
    const nodes = ['/'];
    const parts = path.split('/').filter(Boolean);
    for (let i = 1; i <= parts.length; i++) nodes.push(`/${parts.slice(0, i).join('/')}`);
    let acc: RoleMap = new Map();
    nodes.forEach((node, index) => {
      const members = this.#config.acl.get(node);
      if (!members) return;
      const isTarget = index === nodes.length - 1;
      const applicable = (roles: Map<string, 0 | 1> | undefined): RoleMap | undefined => {
        if (!roles) return undefined;
        const out: RoleMap = new Map();
        for (const [role, flag] of roles) {
          if ((isTarget || flag === 1) && this.roleExists(role)) out.set(role, flag);
        }
        return out.size > 0 ? out : undefined;
      };
      const own = applicable(members.get(subject));
      if (own) {
        acc = own;
        return;
      }
      if (asToken) return;
      let union: RoleMap | undefined;
      for (const g of groups) {
        const r = applicable(members.get(g));
        if (!r) continue;
        union ??= new Map();
        for (const [role, flag] of r) union.set(role, flag);
      }
      if (union) acc = union;
    });
    if (acc.has('NoAccess')) return new Map([['NoAccess', acc.get('NoAccess') as 0 | 1]]);
    return acc;
  }
}

function allPrivileges(): PrivilegeMap {
  return new Map(ALL_PRIVILEGES.map((p) => [p, 1 as const]));
}
