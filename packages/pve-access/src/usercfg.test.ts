// user.cfg parser/writer against the upstream parser_writer suite.
//
// Provenance: testdata/acl-cases.json, suite `parser_writer` — the 33 named tests / 62 assertions of
// proxmox/pve-access-control src/test/parser_writer.pl at 5ccd07d9302562b73374d331b63d25b04b86766c
// (libpve-access-control 9.1.1), converted to JSON as described in testdata/acl-cases-notes.md.
// Upstream expectations are Perl structures; toUpstream()/fromUpstream() below translate between
// them and our UserConfig. The only normalisation: a user entry the parser *adds* (root@pam in an
// empty file) has no `email`/`expire` keys upstream; we compare it with the defaults filled in.
// The further tests at the end are ours, written from acl-semantics.md section B.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { decodeText, encodeText, normalizePath } from './ids.ts';
import { emptyUserConfig, type AclEntry, type UserConfig } from './types.ts';
import { parseUserCfg, writeUserCfg } from './usercfg.ts';

type Upstream = Record<string, any>;
interface Assertion {
  kind: 'parse' | 'write' | 'parse_then_write';
  input_raw?: string;
  input_config?: Upstream;
  expected_config?: Upstream;
  expected_raw?: string;
}

const cases = JSON.parse(readFileSync(new URL('./testdata/acl-cases.json', import.meta.url), 'utf8'));
const suite = cases.suites.find((s: { name: string }) => s.name === 'parser_writer') as {
  cases: { name: string; assertions: Assertion[] }[];
};

function aclTree(acl: AclEntry[]): Upstream {
  const root: Upstream = {};
  for (const e of acl) {
    let node = root;
    for (const comp of e.path === '/' ? [] : e.path.slice(1).split('/')) {
      node.children ??= {};
      node = node.children[comp] ??= {};
    }
    const cls = `${e.type}s`;
    node[cls] ??= {};
    node[cls][e.ugid] ??= {};
    node[cls][e.ugid][e.roleid] = e.propagate ? 1 : 0;
  }
  return root;
}

function toUpstream(config: UserConfig): Upstream {
  const out: Upstream = { acl_root: aclTree(config.acl), roles: {}, users: {} };
  for (const u of config.users.values()) {
    const user: Upstream = { email: u.email ?? null, enable: u.enable ? 1 : 0, expire: u.expire };
    for (const k of ['firstname', 'lastname', 'comment', 'keys'] as const) if (u[k]) user[k] = u[k];
    const groups = [...config.groups.values()].filter((g) => g.members.has(u.userid));
    if (groups.length) user.groups = Object.fromEntries(groups.map((g) => [g.groupid, 1]));
    if (u.tokens.size) {
      user.tokens = Object.fromEntries(
        [...u.tokens.values()].map((t) => [t.name, { expire: t.expire, privsep: t.privsep ? 1 : 0 }]),
      );
    }
    out.users[u.userid] = user;
  }
  if (config.groups.size) {
    out.groups = Object.fromEntries(
      [...config.groups.values()].map((g) => [
        g.groupid,
        { users: Object.fromEntries([...g.members].map((m) => [m, 1])) },
      ]),
    );
  }
  if (config.pools.size) {
    out.pools = {};
    for (const p of config.pools.values()) {
      const children = [...config.pools.keys()].filter((id) => id.startsWith(`${p.poolid}/`));
      out.pools[p.poolid] = {
        pools: Object.fromEntries(children.map((c) => [c, 1])),
        storage: Object.fromEntries([...p.storage].map((s) => [s, 1])),
        vms: Object.fromEntries([...p.vms].map((v) => [v, 1])),
      };
      for (const vmid of p.vms) (out.vms ??= {})[vmid] = p.poolid;
    }
  }
  for (const r of config.roles.values()) out.roles[r.roleid] = Object.fromEntries([...r.privs].map((p) => [p, 1]));
  return out;
}

function fromUpstream(up: Upstream): UserConfig {
  const config = emptyUserConfig();
  for (const [userid, u] of Object.entries<Upstream>(up.users ?? {})) {
    config.users.set(userid, {
      userid,
      enable: u.enable === 1,
      expire: u.expire ?? 0,
      ...(u.email ? { email: u.email } : {}),
      tokens: new Map(
        Object.entries<Upstream>(u.tokens ?? {}).map(([name, t]) => [
          name,
          { name, expire: t.expire, privsep: t.privsep === 1 },
        ]),
      ),
    });
  }
  for (const [groupid, g] of Object.entries<Upstream>(up.groups ?? {})) {
    config.groups.set(groupid, { groupid, members: new Set(Object.keys(g.users ?? {})) });
  }
  for (const [poolid, p] of Object.entries<Upstream>(up.pools ?? {})) {
    config.pools.set(poolid, { poolid, vms: new Set(Object.keys(p.vms)), storage: new Set(Object.keys(p.storage)) });
  }
  for (const [roleid, privs] of Object.entries<Upstream>(up.roles ?? {})) {
    config.roles.set(roleid, { roleid, privs: new Set(Object.keys(privs)) });
  }
  const walk = (node: Upstream, path: string): void => {
    for (const type of ['user', 'group', 'token'] as const) {
      for (const [ugid, roles] of Object.entries<Upstream>(node[`${type}s`] ?? {})) {
        for (const [roleid, prop] of Object.entries(roles))
          config.acl.push({ path, type, ugid, roleid, propagate: prop === 1 });
      }
    }
    for (const [comp, child] of Object.entries<Upstream>(node.children ?? {})) {
      walk(child, path === '/' ? `/${comp}` : `${path}/${comp}`);
    }
  };
  walk(up.acl_root ?? {}, '/');
  return config;
}

/** Fills the defaults of parser-added users (see the header). */
function withUserDefaults(up: Upstream): Upstream {
  const users = Object.fromEntries(
    Object.entries<Upstream>(up.users ?? {}).map(([id, u]) => [id, { email: null, expire: 0, ...u }]),
  );
  return { ...up, users };
}

describe('parser_writer (upstream suite)', () => {
  const all = suite.cases.flatMap((c) => c.assertions.map((a, i) => ({ name: `${c.name} #${i + 1} ${a.kind}`, a })));
  it('has all 62 assertions', () => {
    expect(all).toHaveLength(62);
  });
  it.each(all)('$name', ({ a }) => {
    if (a.kind === 'parse') {
      const { config } = parseUserCfg(a.input_raw!);
      expect(toUpstream(config)).toEqual(withUserDefaults(a.expected_config!));
    } else if (a.kind === 'write') {
      expect(writeUserCfg(fromUpstream(a.input_config!))).toBe(a.expected_raw);
    } else {
      expect(writeUserCfg(parseUserCfg(a.input_raw!).config)).toBe(a.expected_raw);
    }
  });
});

describe('user.cfg details (acl-semantics.md B)', () => {
  it('round-trips the canonical example of B7 byte for byte', () => {
    const text = [
      'user:alice@pve:1:0:Alice:Smith:alice@example.com:tenant%3A acme::',
      'token:alice@pve!ci:0:1:ci token:',
      'user:bob@pve:1:1767225600::::::',
      'user:root@pam:1:0::::::',
      '',
      'group:acme-admins:alice@pve,bob@pve::',
      '',
      'pool:acme::100,101:local-lvm:',
      'pool:acme/dev::102::',
      '',
      'role:VMStarter:VM.Audit,VM.PowerMgmt:',
      '',
      'acl:1:/pool/acme:@acme-admins:PVEVMAdmin:',
      'acl:1:/vms/102:alice@pve!ci:VMStarter:',
      '',
    ].join('\n');
    const { config, warnings } = parseUserCfg(text);
    expect(warnings).toEqual([]);
    expect(config.users.get('alice@pve')!.comment).toBe('tenant: acme');
    expect(writeUserCfg(config)).toBe(text);
  });

  it('percent-encodes free text: colon, percent, control characters and non-ASCII bytes', () => {
    expect(encodeText('a:b%c\td ü€')).toBe('a%3Ab%25c%09d %C3%BC%E2%82%AC');
    expect(decodeText('a%3Ab%25c%09d %C3%BC%E2%82%AC')).toBe('a:b%c\td ü€');
    const { config } = parseUserCfg('user:x@pve:1:0:J%C3%BCrgen:O%3AB::50%25 off::\n');
    const u = config.users.get('x@pve')!;
    expect([u.firstname, u.lastname, u.comment]).toEqual(['Jürgen', 'O:B', '50% off']);
    expect(writeUserCfg(config)).toContain('user:x@pve:1:0:J%C3%BCrgen:O%3AB::50%25 off::\n');
  });

  it('treats empty enable as disabled and empty privsep as 0 (full owner rights)', () => {
    const { config } = parseUserCfg('user:a@pve::\ntoken:a@pve!t1:::\ntoken:a@pve!t2::1:\n');
    const a = config.users.get('a@pve')!;
    expect(a.enable).toBe(false);
    expect(a.tokens.get('t1')!.privsep).toBe(false);
    expect(a.tokens.get('t2')!.privsep).toBe(true);
  });

  it('ignores a user line whose expire is not a number, and tokens of users defined later', () => {
    const { config, warnings } = parseUserCfg('token:a@pve!t:0:1::\nuser:a@pve:1:soon::::::\nuser:b@pve:1:0::::::\n');
    expect(config.users.has('a@pve')).toBe(false);
    expect(config.users.get('b@pve')!.tokens.size).toBe(0);
    expect(warnings).toHaveLength(2);
  });

  it('keeps ACLs of unknown users and groups, drops unknown roles, undefined tokens and later-defined roles', () => {
    const text = [
      'user:a@pve:1:0::::::',
      'acl:1:/vms:ghost@pve,@nogroup,a@pve!nope:PVEVMUser,Late,Missing:',
      'role:Late:VM.Audit:',
    ].join('\n');
    const { config, warnings } = parseUserCfg(text);
    expect(config.acl.map((e) => `${e.type}:${e.ugid}:${e.roleid}`)).toEqual([
      'user:ghost@pve:PVEVMUser',
      'group:nogroup:PVEVMUser',
    ]);
    expect(warnings.join('\n')).toMatch(/undefined token 'a@pve!nope'/);
    expect(warnings.join('\n')).toMatch(/unknown role 'Late'/);
  });

  it('lets a later ACL line for the same path, member and role overwrite the propagate flag', () => {
    const { config } = parseUserCfg(
      'user:a@pve:1:0::::::\nacl:1:/vms:a@pve:PVEVMUser:\nacl:0:/vms/:a@pve:PVEVMUser:\n',
    );
    expect(config.acl).toEqual([{ path: '/vms', type: 'user', ugid: 'a@pve', roleid: 'PVEVMUser', propagate: false }]);
  });

  it('keeps a VM in its first pool only, lets a storage be in several, and creates parent pools', () => {
    const { config, warnings } = parseUserCfg('pool:a/b/c::100:local:\npool:x::100,101:local:\n');
    expect([...config.pools.keys()].sort()).toEqual(['a', 'a/b', 'a/b/c', 'x']);
    expect([...config.pools.get('x')!.vms]).toEqual(['101']);
    expect([...config.pools.get('x')!.storage]).toEqual(['local']);
    expect(warnings.join('\n')).toMatch(/VM 100: it already belongs to pool 'a\/b\/c'/);
    expect(writeUserCfg(config)).toContain('pool:a::::\npool:a/b::::\npool:a/b/c::100:local:\npool:x::101:local:\n');
  });

  it('drops unknown privileges per PVE version (VM.Monitor exists up to 8.x only)', () => {
    const text = 'role:Mon:VM.Monitor,VM.Audit:\n';
    expect([...parseUserCfg(text).config.roles.get('Mon')!.privs]).toEqual(['VM.Audit']);
    expect([...parseUserCfg(text, { pveVersion: '8.4' }).config.roles.get('Mon')!.privs].sort()).toEqual([
      'VM.Audit',
      'VM.Monitor',
    ]);
  });

  it('ignores role lines that redefine built-in roles, and lines of unknown type', () => {
    const { config, warnings } = parseUserCfg('role:PVEAdmin:VM.Audit:\nfoo:bar\n');
    expect(config.roles.size).toBe(0);
    expect(warnings).toHaveLength(2);
  });

  it('splits lists on commas, semicolons and whitespace runs', () => {
    const { config } = parseUserCfg('pool:p::1;2 , 3:s1 s2:\n');
    expect([...config.pools.get('p')!.vms]).toEqual(['1', '2', '3']);
    expect([...config.pools.get('p')!.storage]).toEqual(['s1', 's2']);
  });

  it('never writes ACL entries of root@pam, merges members with equal role lists, orders paths as a tree', () => {
    const text = [
      'user:a@pve:1:0::::::',
      'user:b@pve:1:0::::::',
      'acl:1:/a-b:a@pve:PVEAuditor:',
      'acl:1:/a/c:a@pve:PVEAuditor:',
      'acl:1:/a:root@pam,b@pve,a@pve:PVEAuditor:',
      'acl:0:/a:a@pve:PVEVMUser:',
    ].join('\n');
    const out = writeUserCfg(parseUserCfg(text).config);
    expect(out.split('\n').filter((l) => l.startsWith('acl:'))).toEqual([
      'acl:0:/a:a@pve:PVEVMUser:',
      'acl:1:/a:a@pve,b@pve:PVEAuditor:',
      'acl:1:/a/c:a@pve:PVEAuditor:',
      'acl:1:/a-b:a@pve:PVEAuditor:',
    ]);
  });

  it('normalises paths (B5)', () => {
    expect(normalizePath('/vms/100/')).toBe('/vms/100');
    expect(normalizePath('vms//100')).toBe('/vms/100');
    expect(normalizePath('')).toBe('/');
    expect(normalizePath('//')).toBe('/');
    expect(normalizePath('/vms/1 00')).toBeNull();
    expect(normalizePath('/storage/ü')).toBeNull();
  });
});
