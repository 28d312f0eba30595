// The model from PVE's API point of view.
//
// Provenance: testdata/access-*.json and pools*.json are API response samples (see
// testdata/README.md for repositories, commits and licenses). The perm-test configs come from
// testdata/acl-cases.json (proxmox/pve-access-control src/test at 5ccd07d9…). The hand-written
// API-shaped fixture for perm-test8 below is ours: what PVE's endpoints return for that user.cfg,
// written from api-shapes.md.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { userConfigFromApi, userConfigToApi } from './api.ts';
import { AccessErrorCode } from './errors.ts';
import { AccessModel } from './model.ts';
import type { UserConfig } from './types.ts';
import { parseUserCfg } from './usercfg.ts';

const sample = (name: string): any =>
  JSON.parse(readFileSync(new URL(`./testdata/${name}`, import.meta.url), 'utf8')).data;
const cases = JSON.parse(readFileSync(new URL('./testdata/acl-cases.json', import.meta.url), 'utf8')) as {
  suites: { name: string; usercfg?: string }[];
};
const usercfgOf = (name: string): string => cases.suites.find((s) => s.name === name)!.usercfg!;

/** Every subject the config knows (users, group members, ACL members, tokens) plus one stranger. */
function subjects(config: UserConfig): string[] {
  const out = new Set(['root@pam', 'stranger@pve']);
  for (const u of config.users.values()) {
    out.add(u.userid);
    for (const t of u.tokens.keys()) out.add(`${u.userid}!${t}`);
  }
  for (const g of config.groups.values()) for (const m of g.members) out.add(m);
  for (const e of config.acl) if (e.type !== 'group') out.add(e.ugid);
  return [...out].sort();
}

/** Full subject × path matrix of roles and permissions. */
function matrix(model: AccessModel, subs: string[], extraPaths: string[]): Record<string, unknown> {
  const paths = [...new Set([...model.interestingPaths(), ...extraPaths])];
  const out: Record<string, unknown> = {};
  for (const s of subs) for (const p of paths) out[`${s} ${p}`] = [model.roles(s, p), model.permissions(s, p)];
  return out;
}

const EXTRA_PATHS = [
  '/vms/100/a/b',
  '/vms/999',
  '/storage/nfs1',
  '/pool/devel',
  '/pool/marketing/interns',
  '/kvm/vms/100/a',
];

describe('userConfigFromApi on captured samples', () => {
  const config = userConfigFromApi({
    users: sample('access-users.json'),
    groups: sample('access-groups.json'),
    roles: sample('access-roles-pve7.json'),
    acl: sample('access-acl.json'),
    pools: [sample('pools-poolid.json')],
  });
  const model = AccessModel.compile(config);

  it('reads users, group memberships from /access/groups and the pool members', () => {
    expect([...config.users.keys()].sort()).toEqual(['pam@pam', 'root@pam', 'user1@pve', 'user2@pve']);
    expect([...config.groups.get('cloud-init')!.members]).toEqual(['root@pam', 'user1@pve']);
    expect([...config.pools.get('test-pool')!.vms]).toEqual(['100', '106']);
    expect([...config.pools.get('test-pool')!.storage]).toEqual(['local']);
    // Built-in roles (special: 1) are skipped; the one custom role is kept.
    expect([...config.roles.values()]).toEqual([{ roleid: 'test', privs: new Set(['Pool.Audit']) }]);
  });

  it('grants the group ACL (PVEAdmin on / for @cloud-init) to its members only', () => {
    expect(model.roles('user1@pve', '/vms/100')).toEqual({ PVEAdmin: 1 });
    expect(model.hasPrivilege('user1@pve', '/storage/local', 'Datastore.Allocate')).toBe(true);
    expect(model.hasPrivilege('user1@pve', '/', 'Sys.Modify')).toBe(false);
    expect(model.permissions('user2@pve', '/vms/100')).toEqual({});
  });

  it('reads the single-user form (groups array, tokens map) and the token list form', () => {
    const one = userConfigFromApi({
      users: [{ ...sample('access-users-userid.json'), userid: 'root@pam' }],
      groups: [],
      roles: [],
      acl: [],
      pools: sample('pools.json'),
    });
    const root = one.users.get('root@pam')!;
    expect([...root.tokens.values()]).toEqual([
      { name: 'token1', expire: 1000, privsep: false },
      { name: 'token2', expire: 2000, privsep: true },
    ]);
    expect([...one.groups.keys()]).toEqual(['cloud-init', 'test']);
    expect([...one.pools.keys()]).toEqual(['test-pool']);
    const listed = userConfigFromApi({
      users: [{ userid: 'a@pve', enable: '1', expire: '0', tokens: sample('access-users-userid-token.json') }],
      groups: [],
      roles: [],
      acl: [],
      pools: [],
    });
    expect(listed.users.get('a@pve')!.tokens.get('test')).toEqual({
      name: 'test',
      expire: 100,
      privsep: false,
      comment: 'comment',
    });
  });

  it('rejects responses that do not match PVE shapes, naming the field', () => {
    expect(() =>
      userConfigFromApi({ users: [], groups: [], roles: [], acl: [{ path: '/', type: 'bogus' }], pools: [] }),
    ).toThrow(
      expect.objectContaining({ code: AccessErrorCode.INVALID_API_INPUT, message: expect.stringMatching(/0\.type/) }),
    );
    expect(() => userConfigFromApi({ users: [{ enable: 1 }], groups: [], roles: [], acl: [], pools: [] })).toThrow(
      /\/access\/users.*0\.userid/,
    );
  });
});

// perm-test8's user.cfg as the API reports it.
const TEST8_API = {
  users: [
    { userid: 'root@pam', enable: 1, expire: 0, 'realm-type': 'pam', groups: '', tokens: null },
    { userid: 'joe@pve', enable: 1, expire: 0, 'realm-type': 'pve', groups: 'testgroup1', tokens: null },
    {
      userid: 'max@pve',
      enable: 1,
      expire: 0,
      'realm-type': 'pve',
      groups: 'testgroup1,testgroup3',
      tokens: [
        { tokenid: 'token', privsep: 0, expire: 0 },
        { tokenid: 'token2', privsep: 1, expire: 0 },
      ],
    },
    { userid: 'alex@pve', enable: 1, expire: 0, 'realm-type': 'pve', groups: 'testgroup2', tokens: null },
    { userid: 'sue@pve', enable: 1, expire: 0, 'realm-type': 'pve', groups: 'testgroup1,testgroup2', tokens: null },
    {
      userid: 'carol@pam',
      enable: 1,
      expire: 0,
      'realm-type': 'pam',
      groups: 'testgroup2',
      tokens: [{ tokenid: 'token', privsep: 0, expire: 0 }],
    },
  ],
  groups: [
    { groupid: 'testgroup1', users: 'joe@pve,max@pve,sue@pve' },
    { groupid: 'testgroup2', users: 'alex@pve,carol@pam,sue@pve' },
    { groupid: 'testgroup3', users: 'max@pve' },
  ],
  roles: [
    { roleid: 'NoAccess', privs: '', special: 1 },
    { roleid: 'customer', privs: 'VM.Audit,VM.PowerMgmt', special: 0 },
    { roleid: 'storage_manager', privs: 'Datastore.AllocateSpace,Datastore.Audit', special: 0 },
    { roleid: 'vm_admin', privs: 'VM.Allocate,VM.Audit,VM.Console', special: 0 },
  ],
  acl: [
    { path: '/storage/nfs1', type: 'group', ugid: 'testgroup2', roleid: 'storage_manager', propagate: 1 },
    { path: '/users', type: 'user', ugid: 'max@pve', roleid: 'Administrator', propagate: 1 },
    { path: '/vms', type: 'group', ugid: 'testgroup1', roleid: 'vm_admin', propagate: 1 },
    { path: '/vms/100', type: 'user', ugid: 'alex@pve', roleid: 'customer', propagate: 1 },
    { path: '/vms/100', type: 'user', ugid: 'max@pve', roleid: 'customer', propagate: 1 },
    { path: '/vms/200', type: 'group', ugid: 'testgroup2', roleid: 'NoAccess', propagate: 1 },
    { path: '/vms/200', type: 'group', ugid: 'testgroup3', roleid: 'storage_manager', propagate: 1 },
    { path: '/vms/200', type: 'token', ugid: 'carol@pam!token', roleid: 'vm_admin', propagate: 1 },
    { path: '/vms/200', type: 'token', ugid: 'max@pve!token', roleid: 'storage_manager', propagate: 1 },
    { path: '/vms/200', type: 'token', ugid: 'max@pve!token2', roleid: 'customer', propagate: 1 },
    { path: '/vms/300', type: 'user', ugid: 'max@pve', roleid: 'customer', propagate: 0 },
    { path: '/vms/300', type: 'user', ugid: 'max@pve', roleid: 'vm_admin', propagate: 1 },
    { path: '/vms/300', type: 'token', ugid: 'max@pve!token2', roleid: 'Administrator', propagate: 1 },
  ],
  pools: [],
};

describe('user.cfg → model and API data → model agree', () => {
  it('perm-test8: hand-written API responses give the same roles and privileges everywhere', () => {
    const fromCfg = parseUserCfg(usercfgOf('perm-test8')).config;
    const fromApi = userConfigFromApi(TEST8_API);
    const subs = subjects(fromCfg);
    expect(subs.length).toBeGreaterThan(8);
    expect(matrix(AccessModel.compile(fromApi), subs, EXTRA_PATHS)).toEqual(
      matrix(AccessModel.compile(fromCfg), subs, EXTRA_PATHS),
    );
  });

  it.each([
    'perm-test1',
    'perm-test2',
    'perm-test3',
    'perm-test5',
    'perm-test6',
    'perm-test7',
    'perm-test8',
    'api-get-permissions',
  ])('%s: user.cfg → API view → model matches user.cfg → model', (name) => {
    const fromCfg = parseUserCfg(usercfgOf(name)).config;
    const api = JSON.parse(JSON.stringify(userConfigToApi(fromCfg))); // as it would cross the wire
    const fromApi = userConfigFromApi(api);
    const subs = subjects(fromCfg);
    expect(matrix(AccessModel.compile(fromApi), subs, EXTRA_PATHS)).toEqual(
      matrix(AccessModel.compile(fromCfg), subs, EXTRA_PATHS),
    );
  });
});
