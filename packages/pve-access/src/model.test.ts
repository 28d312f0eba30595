// Effective permissions against the upstream permission tests.
//
// Provenance: testdata/acl-cases.json — suites perm-test1..8 (100 cases: PVE::AccessControl::roles()
// and RPCEnvironment::permissions() assertions of proxmox/pve-access-control src/test/perm-test*.pl
// with test1..8.cfg) and api-get-permissions (32 cases of src/test/api-get-permissions-test.pl),
// at commit 5ccd07d9302562b73374d331b63d25b04b86766c (libpve-access-control 9.1.1). Each case is
// its own test and is named after its suite, index, subject and path. The expected lists carry no
// propagate flags; the flag tests further down and the edge-case config are ours, derived from
// acl-semantics.md section C (each names the rule it checks).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { getAccessPermissions } from './api-permissions.ts';
import { AccessError } from './errors.ts';
import { AccessModel } from './model.ts';
import { parseUserCfg } from './usercfg.ts';

interface PermCase {
  subject: string;
  path: string;
  function: 'roles' | 'permissions';
  expect_roles?: string[];
  expect_privs?: string[];
  note: string;
}
interface ApiCase {
  subject: string;
  params: { userid?: string; path?: string };
  note: string;
  expect_error?: boolean;
  expect_error_detail?: string;
  expect_result?: Record<string, Record<string, 0 | 1>>;
}
interface Suite {
  name: string;
  kind: string;
  usercfg: string;
  cases: (PermCase | ApiCase)[];
}

const data = JSON.parse(readFileSync(new URL('./testdata/acl-cases.json', import.meta.url), 'utf8')) as {
  suites: Suite[];
};
const compiled = (text: string, options = {}): AccessModel => AccessModel.compile(parseUserCfg(text).config, options);

const permSuites = data.suites.filter((s) => s.kind === 'permission');
const permCases = permSuites.flatMap((s) => {
  const model = compiled(s.usercfg);
  return (s.cases as PermCase[]).map((c, i) => ({
    name: `${s.name} #${i + 1} ${c.function}(${c.subject}, '${c.path}')${c.note ? ` — ${c.note}` : ''}`,
    c,
    model,
  }));
});

describe('upstream permission cases', () => {
  it('has all 100', () => {
    expect(permCases).toHaveLength(100);
  });
  it.each(permCases)('$name', ({ c, model }) => {
    if (c.function === 'roles') expect(Object.keys(model.roles(c.subject, c.path)).sort()).toEqual(c.expect_roles);
    else expect(Object.keys(model.permissions(c.subject, c.path)).sort()).toEqual(c.expect_privs);
  });
});

const apiSuite = data.suites.find((s) => s.kind === 'api-permissions')!;
const apiModel = compiled(apiSuite.usercfg);
const apiCases = (apiSuite.cases as ApiCase[]).map((c, i) => ({
  name: `api-get-permissions #${i + 1} ${c.subject} asks ${JSON.stringify(c.params)} — ${c.note}`,
  c,
}));

describe('upstream GET /access/permissions cases', () => {
  it('has all 32', () => {
    expect(apiCases).toHaveLength(32);
  });
  it.each(apiCases)('$name', ({ c }) => {
    const res = getAccessPermissions(apiModel, c.subject, c.params);
    if (c.expect_error) {
      expect(res).toEqual({ ok: false, status: 403, message: c.expect_error_detail!.replace(/^403 /, '') });
    } else {
      expect(res).toEqual({ ok: true, data: c.expect_result });
    }
  });
});

describe('propagate flags', () => {
  const t8 = compiled(permSuites.find((s) => s.name === 'perm-test8')!.usercfg);
  it('roles keep the flag of their entry (perm-test8 /vms/300: customer 0, vm_admin 1)', () => {
    expect(t8.roles('max@pve', '/vms/300')).toEqual({ customer: 0, vm_admin: 1 });
  });
  it('a privilege flag is the OR over the roles containing it (C9)', () => {
    expect(t8.permissions('max@pve', '/vms/300')).toEqual({
      'VM.Allocate': 1,
      'VM.Audit': 1,
      'VM.Console': 1,
      'VM.PowerMgmt': 0,
    });
  });
  it('a privsep token keeps the AND of its and its owner flags (C12)', () => {
    expect(t8.permissions('max@pve!token2', '/vms/300')).toEqual({
      'VM.Allocate': 1,
      'VM.Audit': 1,
      'VM.Console': 1,
      'VM.PowerMgmt': 0,
    });
  });
  it('pool-only roles carry propagate=0 (C11)', () => {
    const t6 = compiled(permSuites.find((s) => s.name === 'perm-test6')!.usercfg);
    expect(t6.permissions('User2@pve', '/vms/500')).toEqual({ 'VM.Console': 1, 'VM.PowerMgmt': 0 });
    expect(t6.permissions('User1@pve', '/storage/store1')).toEqual({ 'VM.Console': 0, 'VM.PowerMgmt': 0 });
  });
});

// Our own config for the rules the upstream tests do not pin down (acl-semantics.md C and H).
const EDGE = `
user:root@pam:1:0::::::
token:root@pam!ro:0:1::
token:root@pam!full:0:0::
user:alice@pve:1:0::::::
token:alice@pve!sep:0:1::
token:alice@pve!shared:0:0::
user:bob@pve:0:0::::::
user:carol@pve:1:1000::::::
token:carol@pve!old:500:1::
user:dave@pve:1:0::::::
user:erin@pve:1:0::::::

group:ops:alice@pve,bob@pve,carol@pve,ghost@pve:
group:locked:dave@pve:
group:deny:erin@pve:

pool:prod::100:store1:
pool:prod/web::101:store2:
pool:lab::102:store1:

role:Starter:VM.Audit,VM.PowerMgmt:

acl:1:/:@locked:NoAccess:
acl:1:/vms:@ops:PVEVMUser:
acl:1:/vms:dave@pve:PVEVMAdmin:
acl:0:/pool/lab:@ops:PVEVMAdmin:
acl:1:/pool/prod:@ops:PVEAuditor:
acl:1:/pool/prod:alice@pve!sep:PVEVMAdmin:
acl:1:/vms/101:alice@pve!sep:Starter:
acl:1:/vms:alice@pve!shared:Administrator:
acl:1:/pool/prod/web:@deny:NoAccess:
acl:1:/vms/101:erin@pve:PVEVMAdmin:
acl:1:/vms/103:erin@pve:PVEVMAdmin:
acl:1:/sdn/zones/z1:alice@pve:PVESDNUser:
acl:0:/sdn/zones/z1/v1:alice@pve:PVEAuditor:
acl:1:/storage:root@pam!ro:PVEDatastoreUser:
`;

describe('edge cases (acl-semantics.md C, H)', () => {
  const m = compiled(EDGE, { now: 2000 });

  it('root@pam has every privilege everywhere and the raw walk reports Administrator (C1)', () => {
    expect(Object.keys(m.permissions('root@pam', '/anything/at/all'))).toHaveLength(47);
    expect(m.roles('root@pam', '/vms')).toEqual({ Administrator: 1 });
  });

  it('a privsep token of root@pam gets exactly its own ACLs; a shared one is root (C12, C13)', () => {
    expect(m.permissions('root@pam!ro', '/storage/x')).toEqual({ 'Datastore.AllocateSpace': 1, 'Datastore.Audit': 1 });
    expect(m.permissions('root@pam!ro', '/vms')).toEqual({});
    expect(m.hasPrivilege('root@pam!full', '/vms', 'Sys.Modify')).toBe(true);
  });

  it('NoAccess propagated from / is lifted by a deeper user entry (C4)', () => {
    expect(m.roles('dave@pve', '/nodes')).toEqual({ NoAccess: 1 });
    expect(m.hasPrivilege('dave@pve', '/vms/200', 'VM.Allocate')).toBe(true);
  });

  it('pool NoAccess inherited from / removes direct grants on pooled VMs only (H3)', () => {
    expect(m.permissions('dave@pve', '/vms/100')).toEqual({});
    expect(m.permissions('dave@pve', '/storage/store1')).toEqual({});
    expect(m.hasPrivilege('dave@pve', '/vms/999', 'VM.Allocate')).toBe(true);
  });

  it('a propagate=0 ACL on /pool/X still reaches the pool members (H6)', () => {
    expect(m.hasPrivilege('alice@pve', '/vms/102', 'VM.Allocate')).toBe(true);
    expect(m.permissions('alice@pve', '/vms/102')['VM.Allocate']).toBe(0);
    expect(m.roles('alice@pve', '/pool/lab/sub')).toEqual({});
  });

  it('nested pools inherit propagating pool ACLs; pool roles apply to storages with any privilege (C10)', () => {
    expect(m.permissions('bob@pve', '/vms/101')['Pool.Audit']).toBe(0);
    expect(m.hasPrivilege('bob@pve', '/storage/store2', 'Datastore.Audit')).toBe(true);
    expect(m.hasPrivilege('bob@pve', '/storage/store1', 'VM.Allocate')).toBe(true); // via lab
    expect(m.hasPrivilege('bob@pve', '/vms', 'Pool.Audit')).toBe(false);
  });

  it('pool NoAccess beats a direct grant; a VM in another pool is unaffected (C11)', () => {
    expect(m.permissions('erin@pve', '/vms/101')).toEqual({});
    expect(m.hasPrivilege('erin@pve', '/vms/103', 'VM.Allocate')).toBe(true);
  });

  it('a privsep token counts its own pool ACLs, then intersects with its owner (C12, H7)', () => {
    // token: Starter on /vms/101 (direct) + PVEVMAdmin on /pool/prod (pool of 100 only; 101 is in prod/web,
    // which inherits it). Owner: PVEVMUser via @ops on /vms + PVEAuditor from /pool/prod.
    expect(m.permissions('alice@pve!sep', '/vms/100')).toEqual({
      'VM.Audit': 0,
      'VM.Backup': 0,
      'VM.Config.CDROM': 0,
      'VM.Config.Cloudinit': 0,
      'VM.Console': 0,
      'VM.GuestAgent.Audit': 0,
      'VM.GuestAgent.FileRead': 0,
      'VM.GuestAgent.FileSystemMgmt': 0,
      'VM.GuestAgent.FileWrite': 0,
      'VM.PowerMgmt': 0,
    });
    expect(m.hasPrivilege('alice@pve!sep', '/vms/101', 'VM.Allocate')).toBe(false);
    expect(m.hasPrivilege('alice@pve!sep', '/vms/101', 'VM.PowerMgmt')).toBe(true);
    expect(m.roles('alice@pve!sep', '/vms/101')).toEqual({ Starter: 1 });
  });

  it('a non-privsep token ignores its own ACLs and equals its owner (C8, C13)', () => {
    expect(m.roles('alice@pve!shared', '/vms/5')).toEqual({ PVEVMUser: 1 });
    expect(m.permissions('alice@pve!shared', '/vms/5')).toEqual(m.permissions('alice@pve', '/vms/5'));
    expect(m.hasPrivilege('alice@pve!shared', '/vms/5', 'Sys.Modify')).toBe(false);
  });

  it('undefined tokens get nothing (C8)', () => {
    expect(m.permissions('alice@pve!nope', '/vms')).toEqual({});
    expect(m.roles('alice@pve!nope', '/vms')).toEqual({});
  });

  it('disabled and expired users and expired tokens keep their computed privileges (C14)', () => {
    expect(m.hasPrivilege('bob@pve', '/vms/7', 'VM.Console')).toBe(true);
    expect(m.hasPrivilege('carol@pve', '/vms/7', 'VM.Console')).toBe(true);
    expect(m.accountStatus('bob@pve')).toMatchObject({ enabled: false, canAuthenticate: false });
    expect(m.accountStatus('carol@pve')).toMatchObject({ expired: true, canAuthenticate: false });
    expect(m.accountStatus('carol@pve!old')).toMatchObject({ tokenExpired: true, canAuthenticate: false });
    expect(m.accountStatus('alice@pve!sep')).toMatchObject({ canAuthenticate: true });
  });

  it('a group member without a user line is computed like any member (C14)', () => {
    expect(m.hasPrivilege('ghost@pve', '/vms/7', 'VM.Console')).toBe(true);
    expect(m.describeSubject('ghost@pve')).toMatchObject({ kind: 'user', defined: false, referenced: true });
    expect(m.describeSubject('nobody@pve')).toMatchObject({ defined: false, referenced: false });
  });

  it('a propagate=0 entry is invisible below its path and the older grant returns (C5)', () => {
    expect(m.roles('alice@pve', '/sdn/zones/z1/v1')).toEqual({ PVEAuditor: 0 });
    expect(m.roles('alice@pve', '/sdn/zones/z1/v1/10')).toEqual({ PVESDNUser: 1 });
  });

  it('normalises check paths and rejects invalid ones', () => {
    expect(m.permissions('alice@pve', 'vms//5/')).toEqual(m.permissions('alice@pve', '/vms/5'));
    expect(() => m.permissions('alice@pve', '/vms/ 5')).toThrow(AccessError);
    expect(m.roles('alice@pve', '')).toEqual({});
  });

  it('check helpers: all-of, any-of, unknown privileges throw', () => {
    expect(m.hasAllPrivileges('alice@pve', '/vms/5', ['VM.Audit', 'VM.Console'])).toBe(true);
    expect(m.hasAllPrivileges('alice@pve', '/vms/5', ['VM.Audit', 'VM.Allocate'])).toBe(false);
    expect(m.hasAnyPrivilege('alice@pve', '/vms/5', ['VM.Allocate', 'VM.Console'])).toBe(true);
    expect(m.hasAnyPrivilege('alice@pve', '/vms/5', ['VM.Allocate', 'Sys.Modify'])).toBe(false);
    expect(() => m.hasPrivilege('alice@pve', '/vms/5', 'VM.Monitor')).toThrow(/unknown privilege 'VM.Monitor'/);
  });

  it('uses the role table of the requested PVE version', () => {
    const old = compiled('user:a@pve:1:0::::::\nacl:1:/:a@pve:PVEVMAdmin:\n', { pveVersion: '8.4' });
    expect(old.pveVersion).toBe('8.2.2');
    expect(old.hasPrivilege('a@pve', '/vms/1', 'VM.Monitor')).toBe(true);
    expect(() => compiled('', { pveVersion: '7.4' })).toThrow(/no built-in role table/);
  });

  it('gives the same answers from a warm cache as from a fresh model', () => {
    const subjects = [
      'alice@pve',
      'alice@pve!sep',
      'alice@pve!shared',
      'bob@pve',
      'dave@pve',
      'erin@pve',
      'root@pam!ro',
    ];
    const paths = [
      '/',
      '/vms',
      '/vms/100',
      '/vms/101',
      '/vms/102',
      '/storage/store1',
      '/pool/prod/web',
      '/sdn/zones/z1/v1',
    ];
    const first = subjects.map((s) => paths.map((p) => m.permissions(s, p)));
    const fresh = compiled(EDGE);
    expect(subjects.map((s) => paths.map((p) => fresh.permissions(s, p)))).toEqual(first);
    expect(subjects.map((s) => paths.map((p) => m.permissions(s, p)))).toEqual(first);
  });
});
