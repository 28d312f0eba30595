// /etc/pve/user.cfg parser and canonical writer (acl-semantics.md section B).
import { builtinRoleSet, DEFAULT_PVE_VERSION } from './builtin-roles.ts';
import {
  byString,
  decodeText,
  encodeText,
  isValidGroupId,
  isValidPoolId,
  isValidRoleId,
  isValidStorageId,
  isValidUserId,
  isValidVmid,
  normalizePath,
  parentPools,
  parseTokenId,
  splitList,
} from './ids.ts';
import { emptyUserConfig, type AclEntry, type AclSubjectType, type PvePool, type UserConfig } from './types.ts';

export interface ParseOptions {
  /** Decides which privilege names are known (unknown ones are dropped). Default: newest. */
  pveVersion?: string;
}

export interface ParseResult {
  config: UserConfig;
  /** What PVE would warn about: ignored lines, dropped members/privileges/roles/tokens. */
  warnings: string[];
}

const ROOT = 'root@pam';

function flag(value: string | undefined): boolean {
  return value !== undefined && value !== '' && value !== '0';
}

function ensurePool(config: UserConfig, poolid: string): PvePool {
  let pool = config.pools.get(poolid);
  if (!pool) {
    pool = { poolid, vms: new Set(), storage: new Set() };
    config.pools.set(poolid, pool);
  }
  return pool;
}

/**
 * Parses user.cfg text the way PVE does: line by line, in order (a `token:` line needs its user
 * before it, an `acl:` line naming a token needs that token before it, custom roles must precede
 * the ACLs using them), with PVE's defaults for empty fields. Never throws on content: what PVE
 * ignores is ignored and reported in `warnings`.
 */
export function parseUserCfg(text: string, options: ParseOptions = {}): ParseResult {
  const roleSet = builtinRoleSet(options.pveVersion ?? DEFAULT_PVE_VERSION);
  const knownPrivs = new Set(roleSet.privileges);
  const builtinRoles = roleSet.roles;
  const config = emptyUserConfig();
  const warnings: string[] = [];
  const vmOwner = new Map<string, string>();
  const aclIndex = new Map<string, AclEntry>();

  const lines = text.split('\n');
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n]!.trim();
    if (line === '') continue;
    const warn = (msg: string): void => {
      warnings.push(`line ${n + 1}: ${msg}`);
    };
    const [type, ...data] = line.split(':').map((f) => f.trim());
    switch (type) {
      case 'user': {
        const [userid = '', enable, expire = '', firstname, lastname, email, comment, keys] = data;
        if (!isValidUserId(userid)) {
          warn(`ignoring user '${userid}': invalid user id`);
          break;
        }
        if (expire !== '' && !/^\d+$/.test(expire)) {
          warn(`ignoring user '${userid}': expire '${expire}' is not a number`);
          break;
        }
        const prev = config.users.get(userid);
        if (prev) warn(`user '${userid}' defined twice; the later line wins`);
        config.users.set(userid, {
          userid,
          enable: flag(enable),
          expire: expire === '' ? 0 : Number(expire),
          ...(firstname ? { firstname: decodeText(firstname) } : {}),
          ...(lastname ? { lastname: decodeText(lastname) } : {}),
          ...(email ? { email } : {}),
          ...(comment ? { comment: decodeText(comment) } : {}),
          ...(keys ? { keys } : {}),
          tokens: prev?.tokens ?? new Map(),
        });
        break;
      }
      case 'token': {
        const [tokenid = '', expire = '', privsep, comment] = data;
        const parsed = parseTokenId(tokenid);
        if (!parsed) {
          warn(`ignoring token '${tokenid}': invalid token id`);
          break;
        }
        const owner = config.users.get(parsed.userid);
        if (!owner) {
          warn(`ignoring token '${tokenid}': user '${parsed.userid}' is not defined before it`);
          break;
        }
        if (expire !== '' && !/^\d+$/.test(expire)) {
          warn(`ignoring token '${tokenid}': expire '${expire}' is not a number`);
          break;
        }
        owner.tokens.set(parsed.tokenName, {
          name: parsed.tokenName,
          expire: expire === '' ? 0 : Number(expire),
          privsep: flag(privsep),
          ...(comment ? { comment: decodeText(comment) } : {}),
        });
        break;
      }
      case 'group': {
        const [groupid = '', members, comment] = data;
        if (!isValidGroupId(groupid)) {
          warn(`ignoring group '${groupid}': invalid group id`);
          break;
        }
        let group = config.groups.get(groupid);
        if (!group) {
          group = { groupid, members: new Set() };
          config.groups.set(groupid, group);
        }
        if (comment) group.comment = decodeText(comment);
        for (const member of splitList(members)) {
          if (!isValidUserId(member)) {
            warn(`group '${groupid}': ignoring member '${member}': invalid user id`);
            continue;
          }
          if (!config.users.has(member)) warn(`group '${groupid}': member '${member}' has no user entry`);
          group.members.add(member);
        }
        break;
      }
      case 'pool': {
        const [poolid = '', comment, vms, storage] = data;
        if (!isValidPoolId(poolid)) {
          warn(`ignoring pool '${poolid}': invalid pool id`);
          break;
        }
        const pool = ensurePool(config, poolid);
        for (const parent of parentPools(poolid)) ensurePool(config, parent);
        if (comment) pool.comment = decodeText(comment);
        for (const vmid of splitList(vms)) {
          if (!isValidVmid(vmid)) {
            warn(`pool '${poolid}': ignoring VM '${vmid}': not a VM id`);
            continue;
          }
          const owner = vmOwner.get(vmid);
          if (owner !== undefined && owner !== poolid) {
            warn(`pool '${poolid}': ignoring VM ${vmid}: it already belongs to pool '${owner}'`);
            continue;
          }
          vmOwner.set(vmid, poolid);
          pool.vms.add(vmid);
        }
        for (const storeid of splitList(storage)) {
          if (!isValidStorageId(storeid)) {
            warn(`pool '${poolid}': ignoring storage '${storeid}': invalid storage id`);
            continue;
          }
          pool.storage.add(storeid);
        }
        break;
      }
      case 'role': {
        const [roleid = '', privs] = data;
        if (!isValidRoleId(roleid)) {
          warn(`ignoring role '${roleid}': invalid role id`);
          break;
        }
        if (Object.hasOwn(builtinRoles, roleid)) {
          warn(`ignoring role '${roleid}': built-in roles cannot be redefined`);
          break;
        }
        const set = new Set<string>();
        for (const priv of splitList(privs)) {
          if (!knownPrivs.has(priv)) {
            warn(`role '${roleid}': dropping unknown privilege '${priv}' (PVE ${roleSet.version})`);
            continue;
          }
          set.add(priv);
        }
        config.roles.set(roleid, { roleid, privs: set });
        break;
      }
      case 'acl': {
        const [propagate, rawPath = '', members, roles] = data;
        const path = normalizePath(rawPath);
        if (path === null) {
          warn(`ignoring acl: invalid path '${rawPath}'`);
          break;
        }
        const roleIds: string[] = [];
        for (const roleid of splitList(roles)) {
          if (Object.hasOwn(builtinRoles, roleid) || config.roles.has(roleid)) roleIds.push(roleid);
          else warn(`acl on '${path}': dropping unknown role '${roleid}'`);
        }
        const subjects: { type: AclSubjectType; ugid: string }[] = [];
        for (const member of splitList(members)) {
          if (member.startsWith('@')) {
            const groupid = member.slice(1);
            if (!isValidGroupId(groupid)) {
              warn(`acl on '${path}': ignoring invalid group '${member}'`);
              continue;
            }
            if (!config.groups.has(groupid)) warn(`acl on '${path}': group '${groupid}' is not defined`);
            subjects.push({ type: 'group', ugid: groupid });
          } else if (isValidUserId(member)) {
            if (!config.users.has(member)) warn(`acl on '${path}': user '${member}' is not defined`);
            subjects.push({ type: 'user', ugid: member });
          } else {
            const token = parseTokenId(member);
            if (!token) {
              warn(`acl on '${path}': ignoring invalid member '${member}'`);
            } else if (!config.users.get(token.userid)?.tokens.has(token.tokenName)) {
              warn(`acl on '${path}': dropping undefined token '${member}'`);
            } else {
              subjects.push({ type: 'token', ugid: member });
            }
          }
        }
        for (const s of subjects) {
          for (const roleid of roleIds) {
            const key = `${path}\0${s.type}\0${s.ugid}\0${roleid}`;
            const prev = aclIndex.get(key);
            if (prev) {
              prev.propagate = flag(propagate);
            } else {
              const entry: AclEntry = { path, type: s.type, ugid: s.ugid, roleid, propagate: flag(propagate) };
              aclIndex.set(key, entry);
              config.acl.push(entry);
            }
          }
        }
        break;
      }
      default:
        warn(`ignoring line of unknown type '${type}'`);
    }
  }
  if (!config.users.has(ROOT)) {
    config.users.set(ROOT, { userid: ROOT, enable: true, expire: 0, tokens: new Map() });
  }
  return { config, warnings };
}

function sorted<T extends string>(values: Iterable<T>): T[] {
  return [...values].sort(byString);
}

/** Component-wise path order: a depth-first walk of the ACL tree with sorted children, `/` first. */
function comparePaths(a: string, b: string): number {
  const ca = a === '/' ? [] : a.slice(1).split('/');
  const cb = b === '/' ? [] : b.slice(1).split('/');
  for (let i = 0; i < Math.min(ca.length, cb.length); i++) {
    const c = byString(ca[i]!, cb[i]!);
    if (c !== 0) return c;
  }
  return ca.length - cb.length;
}

/**
 * Writes the canonical user.cfg (B6): users (each followed by its tokens), groups, pools, custom
 * roles, then ACLs in tree order with members of equal flag and role list merged. Built-in roles
 * and ACL entries of root@pam are never written.
 */
export function writeUserCfg(config: UserConfig, options: ParseOptions = {}): string {
  const builtin = builtinRoleSet(options.pveVersion ?? DEFAULT_PVE_VERSION).roles;
  let out = '';
  for (const userid of sorted(config.users.keys())) {
    const u = config.users.get(userid)!;
    out += `user:${userid}:${u.enable ? 1 : 0}:${u.expire}:${encodeText(u.firstname ?? '')}:${encodeText(u.lastname ?? '')}:${u.email ?? ''}:${encodeText(u.comment ?? '')}:${u.keys ?? ''}:\n`;
    for (const name of sorted(u.tokens.keys())) {
      const t = u.tokens.get(name)!;
      out += `token:${userid}!${name}:${t.expire}:${t.privsep ? 1 : 0}:${encodeText(t.comment ?? '')}:\n`;
    }
  }
  out += '\n';
  for (const groupid of sorted(config.groups.keys())) {
    const g = config.groups.get(groupid)!;
    out += `group:${groupid}:${sorted(g.members).join(',')}:${encodeText(g.comment ?? '')}:\n`;
  }
  out += '\n';
  for (const poolid of sorted(config.pools.keys())) {
    const p = config.pools.get(poolid)!;
    out += `pool:${poolid}:${encodeText(p.comment ?? '')}:${sorted(p.vms).join(',')}:${sorted(p.storage).join(',')}:\n`;
  }
  out += '\n';
  for (const roleid of sorted(config.roles.keys())) {
    if (Object.hasOwn(builtin, roleid)) continue;
    out += `role:${roleid}:${sorted(config.roles.get(roleid)!.privs).join(',')}:\n`;
  }
  out += '\n';

  // path → member (written form) → role → propagate; later duplicates win.
  const byPath = new Map<string, Map<string, Map<string, boolean>>>();
  for (const e of config.acl) {
    if (e.type === 'user' && e.ugid === ROOT) continue;
    const member = e.type === 'group' ? `@${e.ugid}` : e.ugid;
    let members = byPath.get(e.path);
    if (!members) byPath.set(e.path, (members = new Map()));
    let roles = members.get(member);
    if (!roles) members.set(member, (roles = new Map()));
    roles.set(e.roleid, e.propagate);
  }
  for (const path of [...byPath.keys()].sort(comparePaths)) {
    const lines: [Map<string, string[]>, Map<string, string[]>] = [new Map(), new Map()];
    for (const [member, roles] of byPath.get(path)!) {
      for (const prop of [0, 1] as const) {
        const list = sorted([...roles].filter(([, p]) => (p ? 1 : 0) === prop).map(([r]) => r)).join(',');
        if (list === '') continue;
        const members = lines[prop].get(list) ?? [];
        members.push(member);
        lines[prop].set(list, members);
      }
    }
    for (const prop of [0, 1] as const) {
      for (const list of sorted(lines[prop].keys())) {
        out += `acl:${prop}:${path}:${sorted(lines[prop].get(list)!).join(',')}:${list}:\n`;
      }
    }
  }
  return out;
}
