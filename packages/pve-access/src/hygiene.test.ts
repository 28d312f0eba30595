// Hygiene findings. The API-shaped fixture mirrors the PVE simulator's demo access configuration
// (infra/pve-sim scenario.ts: users, groups, tokens and ACLs as /access/users?full=1, /access/groups,
// /access/roles, /access/acl and /pools serve them); the user.cfg fixtures isolate one rule each.
import { describe, expect, it } from 'vitest';
import { userConfigFromApi } from './api.ts';
import { hygieneFindings, type Finding } from './hygiene.ts';
import { parseUserCfg } from './usercfg.ts';

const NOW = 1_790_000_000; // 2026-09-21
const DAY = 86400;

const cfg = (text: string) => parseUserCfg(text).config;
const codes = (fs: Finding[]): string[] => fs.map((f) => `${f.code} ${f.subject}${f.path ? ` ${f.path}` : ''}`);

/** The simulator's demo access data, as its API serves it (0/1 flags, `groups` as a string, `tokens: null`). */
function demoApi() {
  const user = (userid: string, extra: Record<string, unknown> = {}) => ({
    userid,
    enable: 1,
    expire: 0,
    'realm-type': userid.endsWith('@pam') ? 'pam' : 'pve',
    groups: '',
    tokens: null,
    ...extra,
  });
  return {
    users: [
      user('root@pam', { email: 'root@example.invalid', tokens: [{ tokenid: 'tenantgate', privsep: 0, expire: 0 }] }),
      user('pvesync@pve', {
        comment: 'tenantgate pve-sync (read-only)',
        tokens: [{ tokenid: 'sync', privsep: 1, expire: 0, comment: 'pve-sync' }],
      }),
      user('alice@pve', {
        groups: 'acme-admins',
        tokens: [{ tokenid: 'ci', privsep: 1, expire: 0, comment: 'CI pipeline' }],
      }),
      user('bob@pve', {
        groups: 'globex-ops',
        tokens: [{ tokenid: 'automation', privsep: 0, expire: 0, comment: 'ansible' }],
      }),
      user('carol@pve', { enable: 0, groups: 'initech-dev', comment: 'left the company' }),
      user('dave@pve', { comment: 'contractor' }),
      user('erin@pam', { groups: 'acme-admins' }),
      user('frank@pve', {
        expire: NOW + 30 * DAY,
        groups: 'initech-dev',
        tokens: [{ tokenid: 'monitoring', privsep: 1, expire: NOW + 90 * DAY }],
      }),
    ],
    groups: [
      { groupid: 'acme-admins', users: 'alice@pve,erin@pam', comment: 'acme administrators' },
      { groupid: 'globex-ops', users: 'bob@pve' },
      { groupid: 'initech-dev', users: 'carol@pve,frank@pve', comment: 'developers' },
      { groupid: 'auditors', users: '' },
    ],
    roles: [
      { roleid: 'TenantgateSyslog', privs: 'Sys.Syslog', special: 0 },
      { roleid: 'VMOperator', privs: 'VM.Audit,VM.Console,VM.PowerMgmt', special: 0 },
      { roleid: 'Administrator', privs: 'Sys.Modify', special: 1 },
    ],
    acl: [
      { path: '/', type: 'user', ugid: 'pvesync@pve', roleid: 'PVEAuditor', propagate: 1 },
      { path: '/', type: 'user', ugid: 'pvesync@pve', roleid: 'TenantgateSyslog', propagate: 1 },
      { path: '/', type: 'token', ugid: 'pvesync@pve!sync', roleid: 'PVEAuditor', propagate: 1 },
      { path: '/', type: 'token', ugid: 'pvesync@pve!sync', roleid: 'TenantgateSyslog', propagate: 1 },
      { path: '/pool/acme', type: 'group', ugid: 'acme-admins', roleid: 'PVEVMAdmin', propagate: 1 },
      { path: '/pool/globex', type: 'group', ugid: 'globex-ops', roleid: 'VMOperator', propagate: 1 },
      { path: '/pool/globex', type: 'user', ugid: 'bob@pve', roleid: 'PVEVMUser', propagate: 1 },
      { path: '/pool/initech', type: 'group', ugid: 'initech-dev', roleid: 'PVEVMUser', propagate: 1 },
      { path: '/pool/initech', type: 'user', ugid: 'carol@pve', roleid: 'PVEVMAdmin', propagate: 1 },
      { path: '/', type: 'user', ugid: 'dave@pve', roleid: 'Administrator', propagate: 1 },
      { path: '/storage/backup', type: 'group', ugid: 'acme-admins', roleid: 'PVEDatastoreUser', propagate: 0 },
      { path: '/pool/acme', type: 'token', ugid: 'alice@pve!ci', roleid: 'VMOperator', propagate: 1 },
      { path: '/', type: 'token', ugid: 'frank@pve!monitoring', roleid: 'PVEAuditor', propagate: 1 },
    ],
    pools: [
      {
        poolid: 'acme',
        members: [
          { type: 'qemu', vmid: 100 },
          { type: 'storage', storage: 'ceph-vm' },
        ],
      },
      { poolid: 'globex', members: [{ type: 'lxc', vmid: 101 }] },
      { poolid: 'initech', members: [] },
    ],
  };
}

describe('hygieneFindings on the simulator demo (API-shaped input)', () => {
  const config = userConfigFromApi(demoApi());

  it('reports the demo findings, most severe first', () => {
    expect(codes(hygieneFindings(config, { now: NOW }))).toEqual([
      'ADMIN_ON_ROOT dave@pve /',
      'TOKEN_PRIVSEP_OFF bob@pve!automation',
      'TOKEN_PRIVSEP_OFF root@pam!tenantgate',
      'DISABLED_USER_GRANTED carol@pve',
      'TOKEN_NO_EXPIRY alice@pve!ci',
      'TOKEN_NO_EXPIRY bob@pve!automation',
      'TOKEN_NO_EXPIRY pvesync@pve!sync',
      'TOKEN_NO_EXPIRY root@pam!tenantgate',
    ]);
  });

  it('gives each finding a severity, subject type and an operator-readable message', () => {
    const byKey = new Map(hygieneFindings(config, { now: NOW }).map((f) => [`${f.code} ${f.subject}`, f]));
    expect(byKey.get('ADMIN_ON_ROOT dave@pve')).toMatchObject({
      severity: 'critical',
      subjectType: 'user',
      path: '/',
      details: { roles: ['Administrator'] },
    });
    expect(byKey.get('ADMIN_ON_ROOT dave@pve')!.message).toBe(
      'User dave@pve has the Administrator role on / with propagation, i.e. full control of the whole cluster; grant narrower roles on narrower paths.',
    );
    expect(byKey.get('TOKEN_PRIVSEP_OFF bob@pve!automation')).toMatchObject({
      severity: 'high',
      subjectType: 'token',
      details: { owner: 'bob@pve' },
    });
    expect(byKey.get('TOKEN_NO_EXPIRY alice@pve!ci')).toMatchObject({ severity: 'medium', subjectType: 'token' });
    const carol = byKey.get('DISABLED_USER_GRANTED carol@pve')!;
    expect(carol).toMatchObject({
      severity: 'medium',
      details: { enabled: false, paths: ['/pool/initech'], directPaths: ['/pool/initech'], groups: ['initech-dev'] },
    });
    expect(carol.message).toBe(
      'User carol@pve is disabled but still holds privileges through direct ACL entries on /pool/initech and membership in @initech-dev; remove the entries and group memberships (re-enabling the account would restore them).',
    );
  });

  it('reports frank once his account has expired (through his group only)', () => {
    const later = hygieneFindings(config, { now: NOW + 31 * DAY }).filter((f) => f.subject === 'frank@pve');
    expect(later).toHaveLength(1);
    expect(later[0]).toMatchObject({
      code: 'DISABLED_USER_GRANTED',
      details: { enabled: true, directPaths: [], groups: ['initech-dev'] },
    });
    expect(later[0]!.message).toMatch(
      /^User frank@pve expired on \d{4}-\d\d-\d\d but still holds privileges through membership in @initech-dev;/,
    );
  });

  it('reports unused users only when logins are known', () => {
    expect(hygieneFindings(config, { now: NOW }).some((f) => f.code === 'USER_UNUSED_90D')).toBe(false);
    const logins = new Map([
      ['alice@pve', NOW - 3 * DAY],
      ['bob@pve', NOW - 120 * DAY],
      ['dave@pve', NOW - 90 * DAY], // exactly 90 days: not yet
      ['carol@pve', NOW - 400 * DAY], // disabled: DISABLED_USER_GRANTED covers her
    ]);
    const unused = hygieneFindings(config, { now: NOW, lastLoginByUser: logins }).filter(
      (f) => f.code === 'USER_UNUSED_90D',
    );
    expect(unused.map((f) => f.subject)).toEqual(['bob@pve', 'erin@pam', 'frank@pve', 'pvesync@pve']);
    expect(unused.every((f) => f.severity === 'low' && f.subjectType === 'user')).toBe(true);
    expect(unused[0]!.message).toBe(
      'User bob@pve is enabled but last logged in on 2026-05-24, more than 90 days ago; disable it if nobody uses it.',
    );
    expect(unused[1]).toMatchObject({ details: { lastLogin: null } });
    expect(unused[1]!.message).toBe(
      'User erin@pam is enabled but has no recorded login; disable it if nobody uses it.',
    );
  });

  it('accepts the last logins as a plain record too', () => {
    const record = { 'bob@pve': NOW - 120 * DAY, 'erin@pam': NOW, 'frank@pve': NOW, 'pvesync@pve': NOW };
    const unused = hygieneFindings(config, { now: NOW, lastLoginByUser: record })
      .filter((f) => f.code === 'USER_UNUSED_90D')
      .map((f) => f.subject);
    expect(unused).toEqual(['alice@pve', 'bob@pve', 'dave@pve']);
  });
});

describe('hygieneFindings rules (user.cfg fixtures)', () => {
  const base = 'user:root@pam:1:0::::::\nuser:u@pve:1:0::::::\nuser:v@pve:1:0::::::\n';

  it('ADMIN_ON_ROOT: Administrator or Sys.Modify + Permissions.Modify, propagating, on / only', () => {
    const findings = hygieneFindings(
      cfg(
        `${base}token:u@pve!sep:0:1::\ntoken:u@pve!shared:0:0::\n` +
          'user:w@pve:1:0::::::\nuser:x@pve:1:0::::::\nuser:y@pve:1:0::::::\n' +
          'group:ops:u@pve,v@pve::\n' +
          'role:SysPerm:Permissions.Modify,Sys.Modify,Sys.Audit:\nrole:SysOnly:Sys.Modify:\nrole:PermOnly:Permissions.Modify:\n' +
          'acl:1:/:@ops,u@pve!sep,root@pam:Administrator:\n' +
          'acl:1:/:u@pve!shared:Administrator:\n' + // ignored by PVE: privsep=0 token
          'acl:1:/:v@pve:SysPerm:\n' +
          'acl:1:/:w@pve:PermOnly,SysOnly:\n' + // together they reach both privileges
          'acl:1:/:x@pve:SysOnly:\n' +
          'acl:0:/:y@pve:Administrator:\n' + // not propagating
          'acl:1:/vms:y@pve:Administrator:\n', // not on /
      ),
      { now: NOW },
    ).filter((f) => f.code === 'ADMIN_ON_ROOT');
    expect(findings.map((f) => [f.subjectType, f.subject, f.details.roles])).toEqual([
      ['group', 'ops', ['Administrator']],
      ['token', 'u@pve!sep', ['Administrator']],
      ['user', 'v@pve', ['SysPerm']],
      ['user', 'w@pve', ['PermOnly', 'SysOnly']],
    ]);
    expect(findings[0]!.message).toMatch(/^Group @ops \(2 members\) has the Administrator role on \/ with propagation/);
    expect(findings[2]!.message).toMatch(/^User v@pve has Sys.Modify and Permissions.Modify \(roles SysPerm\) on \//);
  });

  it('ADMIN_ON_ROOT: NoAccess for the same member on / collapses it (C6)', () => {
    const text = `${base}acl:1:/:u@pve:Administrator,NoAccess:\n`;
    expect(hygieneFindings(cfg(text), { now: NOW }).filter((f) => f.code === 'ADMIN_ON_ROOT')).toEqual([]);
  });

  it('DISABLED_USER_GRANTED: disabled or expired users with granting entries, directly or via groups', () => {
    const text =
      'user:root@pam:1:0::::::\n' +
      'user:off@pve:0:0::::::\n' + // disabled, direct entry
      `user:old@pve:1:${NOW - DAY}::::::\n` + // expired, via group
      'user:deny@pve:0:0::::::\n' + // disabled, only NoAccess: grants nothing
      'user:idle@pve:0:0::::::\n' + // disabled, no entries
      `user:soon@pve:1:${NOW + DAY}::::::\n` + // not yet expired
      'group:team:old@pve,soon@pve::\n' +
      'acl:1:/vms/100:off@pve:PVEVMUser:\n' +
      'acl:0:/storage/local:off@pve:PVEDatastoreUser:\n' +
      'acl:1:/pool/p:@team:PVEVMUser:\n' +
      'acl:1:/:deny@pve:NoAccess:\n';
    const findings = hygieneFindings(cfg(text), { now: NOW }).filter((f) => f.code === 'DISABLED_USER_GRANTED');
    expect(findings.map((f) => [f.subject, f.details.paths, f.details.groups])).toEqual([
      ['off@pve', ['/storage/local', '/vms/100'], []],
      ['old@pve', ['/pool/p'], ['team']],
    ]);
    expect(findings[1]!.message).toMatch(/^User old@pve expired on 2026-09-20 but still holds privileges/);
  });

  it('TOKEN_NO_EXPIRY and TOKEN_PRIVSEP_OFF per token; an empty privsep field in user.cfg means 0 (B4)', () => {
    // Token names need two characters at least (A2).
    const text = `${base}token:u@pve!ta:0:1::\ntoken:u@pve!tb:${NOW + DAY}:0::\ntoken:u@pve!tc:${NOW + DAY}:1::\ntoken:v@pve!td:0:::\n`;
    expect(codes(hygieneFindings(cfg(text), { now: NOW }))).toEqual([
      'TOKEN_PRIVSEP_OFF u@pve!tb',
      'TOKEN_PRIVSEP_OFF v@pve!td',
      'TOKEN_NO_EXPIRY u@pve!ta',
      'TOKEN_NO_EXPIRY v@pve!td',
    ]);
  });

  it('finds nothing in a clean configuration', () => {
    const text = `${base}token:u@pve!ci:${NOW + 30 * DAY}:1::\nacl:1:/vms:u@pve:PVEVMUser:\nacl:1:/vms:u@pve!ci:PVEVMUser:\n`;
    const logins = { 'u@pve': NOW - DAY, 'v@pve': NOW - 10 * DAY };
    expect(hygieneFindings(cfg(text), { now: NOW, lastLoginByUser: logins })).toEqual([]);
  });
});
