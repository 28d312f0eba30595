// The PVE access configuration of one simulated cluster (the content of /etc/pve/user.cfg plus
// token secrets and passwords), kept as plain maps so the API handlers can read and change it.

export interface SimUser {
  userid: string;
  enable: 0 | 1;
  /** Epoch seconds; 0 = never. */
  expire: number;
  firstname?: string;
  lastname?: string;
  email?: string;
  comment?: string;
  keys?: string;
  /** Only for login through POST /access/ticket; never served. */
  password?: string;
}

export interface SimToken {
  /** Full token id `user@realm!name`. */
  fullId: string;
  userid: string;
  name: string;
  privsep: 0 | 1;
  expire: number;
  comment?: string;
  secret: string;
}

export interface SimGroup {
  groupid: string;
  comment?: string;
  members: Set<string>;
}

export interface SimPool {
  poolid: string;
  comment?: string;
  vms: Set<number>;
  storage: Set<string>;
}

/** ACL member key: a user id, a token id, or `@group`. */
export type AclMember = string;

export interface AclEntryView {
  path: string;
  type: 'user' | 'group' | 'token';
  ugid: string;
  roleid: string;
  propagate: 0 | 1;
}

export class AccessConfig {
  readonly users = new Map<string, SimUser>();
  readonly tokens = new Map<string, SimToken>();
  readonly groups = new Map<string, SimGroup>();
  /** Custom roles only; built-in roles come from @tenantgate/pve-access. */
  readonly customRoles = new Map<string, Set<string>>();
  /** path → member → role → propagate */
  readonly acl = new Map<string, Map<AclMember, Map<string, 0 | 1>>>();
  readonly pools = new Map<string, SimPool>();
  /** Bumped on every change; permission caches key on it. */
  version = 0;

  touch(): void {
    this.version++;
  }

  grant(path: string, member: AclMember, roleid: string, propagate: 0 | 1): void {
    const p = normalizeAclPath(path);
    if (p === undefined) throw new RangeError(`invalid ACL path '${path}'`);
    let members = this.acl.get(p);
    if (!members) this.acl.set(p, (members = new Map()));
    let roles = members.get(member);
    if (!roles) members.set(member, (roles = new Map()));
    roles.set(roleid, propagate);
    this.touch();
  }

  /** Removes one role (or, without roleid, every role) of a member at a path. Returns whether anything changed. */
  revoke(path: string, member: AclMember, roleid?: string): boolean {
    const p = normalizeAclPath(path);
    const members = p === undefined ? undefined : this.acl.get(p);
    const roles = members?.get(member);
    if (!members || !roles) return false;
    const changed = roleid === undefined ? roles.size > 0 : roles.delete(roleid);
    if (roleid === undefined || roles.size === 0) members.delete(member);
    if (members.size === 0) this.acl.delete(p as string);
    if (changed) this.touch();
    return changed;
  }

  /** Drops every ACL entry naming this member (user/token deletion). */
  dropMember(member: AclMember): void {
    for (const [path, members] of this.acl) {
      members.delete(member);
      if (members.size === 0) this.acl.delete(path);
    }
    this.touch();
  }

  groupsOf(userid: string): string[] {
    const out: string[] = [];
    for (const g of this.groups.values()) if (g.members.has(userid)) out.push(g.groupid);
    return out.sort();
  }

  tokensOf(userid: string): SimToken[] {
    return [...this.tokens.values()].filter((t) => t.userid === userid).sort((a, b) => cmp(a.name, b.name));
  }

  poolOfVm(vmid: number): SimPool | undefined {
    for (const pool of this.pools.values()) if (pool.vms.has(vmid)) return pool;
    return undefined;
  }

  aclEntries(): AclEntryView[] {
    const out: AclEntryView[] = [];
    for (const path of [...this.acl.keys()].sort()) {
      const members = this.acl.get(path) as Map<AclMember, Map<string, 0 | 1>>;
      for (const member of [...members.keys()].sort()) {
        const roles = members.get(member) as Map<string, 0 | 1>;
        for (const [roleid, propagate] of [...roles].sort((a, b) => cmp(a[0], b[0]))) {
          if (member === 'root@pam') continue;
          if (member.startsWith('@')) out.push({ path, type: 'group', ugid: member.slice(1), roleid, propagate });
          else if (member.includes('!')) out.push({ path, type: 'token', ugid: member, roleid, propagate });
          else out.push({ path, type: 'user', ugid: member, roleid, propagate });
        }
      }
    }
    return out;
  }
}

export function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Path normalisation of acl-semantics.md B5; `undefined` for an invalid path. */
export function normalizeAclPath(path: string): string | undefined {
  let p = path.replace(/\/+/g, '/');
  if (p.length > 1 && p.endsWith('/')) p = p.slice(0, -1);
  if (p === '') p = '/';
  if (!p.startsWith('/')) p = `/${p}`;
  return /^[A-Za-z0-9.\-_/]+$/.test(p) ? p : undefined;
}

export function isTokenId(id: string): boolean {
  return /^[^\s:/]+@[A-Za-z][A-Za-z0-9.\-_]+![A-Za-z][A-Za-z0-9.\-_]+$/.test(id);
}

export function isUserId(id: string): boolean {
  return id.length >= 3 && id.length <= 64 && /^[^\s:/]+@[A-Za-z][A-Za-z0-9.\-_]+$/.test(id);
}

export function realmOf(userid: string): string {
  return userid.slice(userid.lastIndexOf('@') + 1);
}
