// The in-memory form of PVE's access configuration (the content of /etc/pve/user.cfg, or the same
// data read through the API). Plain data: build it with parseUserCfg, userConfigFromApi or by hand,
// then compile it with AccessModel.compile.

export interface PveToken {
  /** Token name (the part after `!`). */
  readonly name: string;
  /** Epoch seconds; 0 = never. */
  expire: number;
  /** Privilege separation: true = own ACLs intersected with the owner's; false = the owner's privileges. */
  privsep: boolean;
  comment?: string;
}

export interface PveUser {
  readonly userid: string;
  enable: boolean;
  /** Epoch seconds; 0 = never. */
  expire: number;
  firstname?: string;
  lastname?: string;
  email?: string;
  comment?: string;
  /** Legacy two-factor data (opaque; `x` marks entries in priv/tfa.cfg). */
  keys?: string;
  /** Keyed by token name. */
  tokens: Map<string, PveToken>;
}

export interface PveGroup {
  readonly groupid: string;
  comment?: string;
  /** User ids; a member need not have a `user:` line (PVE only warns). */
  members: Set<string>;
}

export interface PvePool {
  readonly poolid: string;
  comment?: string;
  /** VM ids (digits). A VM belongs to at most one pool. */
  vms: Set<string>;
  /** Storage ids. A storage may be in several pools. */
  storage: Set<string>;
}

export interface PveRole {
  readonly roleid: string;
  privs: Set<string>;
}

export type AclSubjectType = 'user' | 'group' | 'token';

/** One (path, member, role) grant, like an item of `GET /access/acl`. */
export interface AclEntry {
  /** Normalised path. */
  path: string;
  type: AclSubjectType;
  /** User id, group id (without `@`) or token id. */
  ugid: string;
  roleid: string;
  propagate: boolean;
}

export interface UserConfig {
  users: Map<string, PveUser>;
  groups: Map<string, PveGroup>;
  /** Includes implicit parents of nested pools (`a` for `a/b`). */
  pools: Map<string, PvePool>;
  /** Custom roles only; built-in roles come from the PVE version's table. */
  roles: Map<string, PveRole>;
  /** At most one entry per (path, type, ugid, roleid); compile lets a later duplicate win. */
  acl: AclEntry[];
}

export function emptyUserConfig(): UserConfig {
  return { users: new Map(), groups: new Map(), pools: new Map(), roles: new Map(), acl: [] };
}
