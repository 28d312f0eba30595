// The compiled engine (integer index, filters, packed records) against a deliberately naive reading
// of acl-semantics.md C1–C13: walk from `/` to the path accumulating roles, pools at exact member
// paths, token rules, privileges as plain sets. Random configurations from a fixed seed exercise
// nested pools, storages in several pools, propagate=0 entries, NoAccess, groups, users without a
// user line, privsep/shared/undefined tokens and root@pam's tokens; paths include unnormalised ones.
import { describe, expect, it } from 'vitest';
import { builtinRoleSet } from './builtin-roles.ts';
import { AccessModel, type FlagMap } from './model.ts';
import { normalizePath } from './ids.ts';
import type { UserConfig } from './types.ts';
import { parseUserCfg } from './usercfg.ts';

type Roles = Map<string, boolean>; // role → propagate

/** C2–C8: the raw role walk for a user (its entries and its groups') or a token's own entries. */
function walk(config: UserConfig, member: string, asToken: boolean, path: string): Roles {
  const groups = [...config.groups.values()].filter((g) => g.members.has(member)).map((g) => g.groupid);
  const prefixes = ['/'];
  for (let i = path.indexOf('/', 1); i > 0; i = path.indexOf('/', i + 1)) prefixes.push(path.slice(0, i));
  if (path !== '/') prefixes.push(path);
  let acc: Roles = new Map();
  for (const node of prefixes) {
    const applies = config.acl.filter((e) => e.path === node && (node === path || e.propagate));
    const pick = (type: string, ids: string[]): Roles | undefined => {
      const hits = applies.filter((e) => e.type === type && ids.includes(e.ugid));
      if (hits.length === 0) return undefined;
      const roles: Roles = new Map();
      for (const e of hits) roles.set(e.roleid, (roles.get(e.roleid) ?? false) || e.propagate);
      return roles;
    };
    const decided = asToken ? pick('token', [member]) : (pick('user', [member]) ?? pick('group', groups));
    if (decided) acc = decided;
  }
  if (acc.has('NoAccess')) return new Map([['NoAccess', acc.get('NoAccess')!]]); // C6
  return acc;
}

/** C9–C11 for one walker: direct roles plus pool roles at exact member paths. */
function walkerPrivs(config: UserConfig, member: string, asToken: boolean, path: string): FlagMap {
  const roleSet = builtinRoleSet();
  const privsOf = (role: string): readonly string[] =>
    roleSet.roles[role] ?? [...(config.roles.get(role)?.privs ?? [])];
  const direct = walk(config, member, asToken, path);
  const pools: string[] = [];
  const vm = /^\/vms\/(\d+)$/.exec(path)?.[1];
  const store = /^\/storage\/([^/]+)$/.exec(path)?.[1];
  for (const pool of config.pools.values()) {
    if (vm !== undefined && pool.vms.has(vm)) pools.push(pool.poolid);
    if (store !== undefined && pool.storage.has(store)) pools.push(pool.poolid);
  }
  if (vm !== undefined) pools.splice(1); // a VM belongs to its first pool only
  if (direct.has('NoAccess') && pools.length > 0) return {};
  const out: FlagMap = {};
  for (const [role, prop] of direct) for (const p of privsOf(role)) out[p] = out[p] === 1 || prop ? 1 : 0;
  for (const pool of pools) {
    const roles = walk(config, member, asToken, `/pool/${pool}`);
    if (roles.has('NoAccess')) return {};
    for (const role of roles.keys()) for (const p of privsOf(role)) out[p] ??= 0;
  }
  return out;
}

/** C1, C12, C13: what `permissions()` must return. */
function reference(config: UserConfig, subject: string, rawPath: string): FlagMap {
  const path = normalizePath(rawPath)!;
  if (subject === 'root@pam') return Object.fromEntries(builtinRoleSet().roles.Administrator!.map((p) => [p, 1]));
  const bang = subject.lastIndexOf('!');
  if (bang < 0) return walkerPrivs(config, subject, false, path);
  const owner = subject.slice(0, bang);
  const token = config.users.get(owner)?.tokens.get(subject.slice(bang + 1));
  if (!token) return {};
  const ownerPrivs = reference(config, owner, path);
  if (!token.privsep) return ownerPrivs;
  const own = walkerPrivs(config, subject, true, path);
  if (owner === 'root@pam') return own;
  const out: FlagMap = {};
  for (const [p, f] of Object.entries(own)) if (p in ownerPrivs) out[p] = f === 1 && ownerPrivs[p] === 1 ? 1 : 0;
  return out;
}

function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomCase(seed: number): { config: UserConfig; subjects: string[]; paths: string[] } {
  const rand = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const users = Array.from({ length: 3 + Math.floor(rand() * 6) }, (_, i) => `u${i}@pve`);
  const groups = Array.from({ length: 1 + Math.floor(rand() * 3) }, (_, i) => `g${i}`);
  const lines = ['user:root@pam:1:0::::::', `token:root@pam!rt:0:${rand() < 0.5 ? 1 : 0}::`];
  const tokens = ['root@pam!rt'];
  for (const u of users) {
    if (rand() < 0.9) lines.push(`user:${u}:1:0::::::`);
    if (rand() < 0.5) {
      lines.push(`token:${u}!tk:0:${rand() < 0.6 ? 1 : 0}::`);
      tokens.push(`${u}!tk`);
    }
  }
  const ghost = rand() < 0.5 ? ['ghost@pve'] : [];
  for (const g of groups) lines.push(`group:${g}:${[...users.filter(() => rand() < 0.4), ...ghost].join(',')}::`);
  lines.push('pool:a::100,101:s1:', 'pool:a/b::102:s1,s2:', 'pool:a/b/c::103::', 'pool:p2::104,100:s2:');
  lines.push('role:R1:VM.Audit,VM.Console:', 'role:R2:VM.PowerMgmt,Sys.Audit:', 'role:R3:Datastore.Audit:');
  const roles = ['R1', 'R2', 'R3', 'NoAccess', 'PVEVMAdmin', 'PVEAuditor', 'Administrator'];
  const aclPaths = ['/', '/vms', '/vms/100', '/vms/101', '/vms/102', '/vms/103', '/vms/104', '/storage', '/storage/s1'];
  aclPaths.push('/storage/s2', '/pool', '/pool/a', '/pool/a/b', '/pool/a/b/c', '/pool/p2', '/sdn/zones/z1');
  const members = [...users, ...groups.map((g) => `@${g}`), ...tokens, 'ghost@pve'];
  for (let i = 0, n = 1 + Math.floor(rand() * 25); i < n; i++) {
    lines.push(`acl:${rand() < 0.6 ? 1 : 0}:${pick(aclPaths)}:${pick(members)}:${pick(roles)}:`);
  }
  const { config } = parseUserCfg(`${lines.join('\n')}\n`);
  const paths = [...aclPaths, '/vms/105', '/sdn/zones/z1/v1', '/pool/a/b/c/d', '/x/y', 'vms/101', '//storage//s1/'];
  return { config, subjects: [...users, ...tokens, 'root@pam', 'ghost@pve', 'u0@pve!none', 'bad'], paths };
}

describe('permissions() against a naive reading of acl-semantics.md C1–C13', () => {
  it('agrees on 150 random configurations (every subject × path)', () => {
    let compared = 0;
    const mismatches: string[] = [];
    for (let seed = 1; seed <= 150; seed++) {
      const { config, subjects, paths } = randomCase(seed);
      const model = AccessModel.compile(config);
      for (const subject of subjects) {
        for (const path of paths) {
          compared++;
          const got = model.permissions(subject, path);
          const want = subject === 'bad' ? {} : reference(config, subject, path);
          if (JSON.stringify(sorted(got)) !== JSON.stringify(sorted(want))) {
            mismatches.push(`seed ${seed} ${subject} ${path}: ${JSON.stringify(got)} ≠ ${JSON.stringify(want)}`);
          }
        }
      }
    }
    expect(mismatches.slice(0, 5)).toEqual([]);
    expect(compared).toBeGreaterThan(20_000);
  });

  it('keeps answering correctly when its per-string memos are refilled (many distinct paths)', () => {
    const { config } = randomCase(7);
    const model = AccessModel.compile(config);
    const first = model.permissions('u0@pve', '/vms/100');
    for (let i = 0; i < 70_000; i++) model.hasPrivilege('u1@pve', `/vms/${1000 + i}`, 'VM.Audit');
    expect(model.permissions('u0@pve', '/vms/100')).toEqual(first);
    expect(model.permissions('u0@pve', '/vms/100')).toEqual(reference(config, 'u0@pve', '/vms/100'));
  });
});

function sorted(m: FlagMap): [string, number][] {
  return Object.entries(m).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}
