// The grant-level view of the ACL tree: which entries (with their role names and flags) sit at each
// node, per member. Permission checks do not use it (they run on AclIndex's integer sets); the raw
// role walk (`roles()`) and explanations do, because they name roles and entries. Built once per
// model, on the first call that needs it.
import type { AclEntry } from './types.ts';
import type { TraceEntry, WalkTrace } from './explain.ts';

export const NO_ACCESS_ROLE = 'NoAccess';

/** What a grant needs to know about its role. */
export interface GrantRole {
  readonly id: string;
  readonly noAccess: boolean;
  readonly privs: readonly string[];
}

/** One ACL grant at a node, pointing back at the entry for explanations. */
export interface Grant {
  readonly roleid: string;
  readonly propagate: boolean;
  readonly role: GrantRole;
  readonly entry: AclEntry;
}

export interface AclNode {
  readonly path: string;
  readonly users: Map<string, Grant[]>;
  readonly usersProp: Map<string, Grant[]>;
  readonly groups: Map<string, Grant[]>;
  readonly groupsProp: Map<string, Grant[]>;
  readonly tokens: Map<string, Grant[]>;
  readonly tokensProp: Map<string, Grant[]>;
}

export interface GrantPathInfo {
  readonly path: string;
  /** Nodes with ACL entries on the way from the path up to `/`, deepest first. */
  readonly chain: readonly AclNode[];
  readonly target: AclNode | undefined;
  /** Pools whose roles attach at this exact path (C10). */
  readonly pools: readonly string[];
}

const EMPTY_GRANTS: readonly Grant[] = Object.freeze([]);

export class GrantIndex {
  private readonly nodes = new Map<string, AclNode>();

  /** `entries`: valid entries with normalised paths, in configuration order. */
  constructor(entries: readonly AclEntry[], roles: ReadonlyMap<string, GrantRole>) {
    // Later duplicates of (path, member, role) win, as in the user.cfg parser.
    const latest = new Map<string, AclEntry>();
    for (const entry of entries) latest.set(`${entry.path}\0${entry.type}\0${entry.ugid}\0${entry.roleid}`, entry);
    for (const entry of latest.values()) {
      const node = this.nodeFor(entry.path);
      const grant: Grant = { roleid: entry.roleid, propagate: entry.propagate, role: roles.get(entry.roleid)!, entry };
      const [all, prop] =
        entry.type === 'user'
          ? [node.users, node.usersProp]
          : entry.type === 'group'
            ? [node.groups, node.groupsProp]
            : [node.tokens, node.tokensProp];
      push(all, entry.ugid, grant);
      if (entry.propagate) push(prop, entry.ugid, grant);
    }
  }

  /** The ACL nodes on a normalised path, deepest first, and the pools that attach there. */
  pathInfo(
    path: string,
    vmPool: ReadonlyMap<string, string>,
    storagePools: ReadonlyMap<string, readonly string[]>,
  ): GrantPathInfo {
    const chain: AclNode[] = [];
    const target = this.nodes.get(path);
    if (target) chain.push(target);
    if (path !== '/') {
      for (let i = path.lastIndexOf('/'); i >= 0; i = i === 0 ? -1 : path.lastIndexOf('/', i - 1)) {
        const node = this.nodes.get(i === 0 ? '/' : path.slice(0, i));
        if (node) chain.push(node);
      }
    }
    let pools: readonly string[] = [];
    const vm = /^\/vms\/(\d+)$/.exec(path);
    if (vm) {
      const pool = vmPool.get(vm[1]!);
      if (pool !== undefined) pools = [pool];
    } else {
      const store = /^\/storage\/([^/]+)$/.exec(path);
      if (store) pools = storagePools.get(store[1]!) ?? [];
    }
    return { path, chain, target, pools };
  }

  /** C2–C5 for a user: the deepest node with applicable entries decides (user before its groups). */
  walkUser(userid: string, groups: readonly string[], info: GrantPathInfo): readonly Grant[] {
    for (const node of info.chain) {
      const isTarget = node === info.target;
      const mine = (isTarget ? node.users : node.usersProp).get(userid);
      if (mine !== undefined) return mine;
      const byGroup = isTarget ? node.groups : node.groupsProp;
      const union: Grant[] = [];
      for (const gid of groups) union.push(...(byGroup.get(gid) ?? []));
      if (union.length > 0) return union;
    }
    return EMPTY_GRANTS;
  }

  /** C8 for a privsep token: only entries naming the token id count. */
  walkToken(tokenid: string, info: GrantPathInfo): readonly Grant[] {
    for (const node of info.chain) {
      const grants = (node === info.target ? node.tokens : node.tokensProp).get(tokenid);
      if (grants !== undefined) return grants;
    }
    return EMPTY_GRANTS;
  }

  /** The same walk, recording every entry seen and why it did or did not count. */
  trace(member: string, groups: readonly string[], info: GrantPathInfo, asToken: boolean, priv: string): WalkTrace {
    const entries: TraceEntry[] = [];
    let decidedAt: string | null = null;
    let decidedBy: 'token' | 'user' | 'group' | null = null;
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
        for (const gid of groups) gs.push(...(node.groups.get(gid) ?? []));
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
    const noAccess = counting.find((e) => e.roleid === NO_ACCESS_ROLE);
    if (noAccess) for (const e of counting) if (e !== noAccess) e.status = 'wiped-by-noaccess';
    entries.reverse(); // root first, as an operator reads a path
    return { subject: member, path: info.path, decidedAt, decidedBy, noAccess: noAccess !== undefined, entries };
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
}

function push(map: Map<string, Grant[]>, key: string, grant: Grant): void {
  const list = map.get(key);
  if (list) list.push(grant);
  else map.set(key, [grant]);
}
