// Every permission decision of the simulator goes through this module. It delegates to the PVE
// access-control engine (@tenantgate/pve-access, exact PVE semantics per shared/pve/acl-semantics.md),
// recompiling the model whenever the cluster's access configuration changed.
import { AccessModel, builtinRoleSet, emptyUserConfig, type UserConfig } from '@tenantgate/pve-access';
import type { AccessConfig } from './access-config.ts';

/** privilege → propagate flag */
export type PrivilegeMap = Map<string, 0 | 1>;

const ROLE_SET = builtinRoleSet('9.1');
export const BUILTIN_ROLES: Readonly<Record<string, readonly string[]>> = ROLE_SET.roles;
export const ALL_PRIVILEGES: readonly string[] = ROLE_SET.privileges;

export class PermissionEngine {
  readonly #config: AccessConfig;
  #version = -1;
  #model: AccessModel | undefined;
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

  #compiled(): AccessModel {
    if (!this.#model || this.#version !== this.#config.version) {
      this.#model = AccessModel.compile(toUserConfig(this.#config), { pveVersion: '9.1' });
      this.#version = this.#config.version;
      this.#cache.clear();
    }
    return this.#model;
  }

  /** Effective privileges of a user id or token id at a path (pools, privsep intersection, root@pam included). */
  permissions(subject: string, path: string): PrivilegeMap {
    const model = this.#compiled();
    const key = `${subject}\u0000${path}`;
    let result = this.#cache.get(key);
    if (!result) {
      result = new Map(Object.entries(model.permissions(subject, path)));
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
}

/** The simulator's access configuration in pve-access's UserConfig form. */
export function toUserConfig(c: AccessConfig): UserConfig {
  const cfg = emptyUserConfig();
  for (const u of c.users.values()) {
    cfg.users.set(u.userid, {
      userid: u.userid,
      enable: u.enable === 1,
      expire: u.expire,
      ...(u.firstname !== undefined ? { firstname: u.firstname } : {}),
      ...(u.lastname !== undefined ? { lastname: u.lastname } : {}),
      ...(u.email !== undefined ? { email: u.email } : {}),
      ...(u.comment !== undefined ? { comment: u.comment } : {}),
      tokens: new Map(),
    });
  }
  for (const t of c.tokens.values()) {
    cfg.users.get(t.userid)?.tokens.set(t.name, {
      name: t.name,
      expire: t.expire,
      privsep: t.privsep === 1,
      ...(t.comment !== undefined ? { comment: t.comment } : {}),
    });
  }
  for (const g of c.groups.values()) cfg.groups.set(g.groupid, { groupid: g.groupid, members: new Set(g.members) });
  for (const p of c.pools.values()) {
    cfg.pools.set(p.poolid, { poolid: p.poolid, vms: new Set([...p.vms].map(String)), storage: new Set(p.storage) });
  }
  for (const [roleid, privs] of c.customRoles) cfg.roles.set(roleid, { roleid, privs: new Set(privs) });
  for (const e of c.aclEntries())
    cfg.acl.push({ path: e.path, type: e.type, ugid: e.ugid, roleid: e.roleid, propagate: e.propagate === 1 });
  return cfg;
}
