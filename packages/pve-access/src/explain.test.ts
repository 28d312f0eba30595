// Explanations. Configs: perm-test1/6/8 from testdata/acl-cases.json (proxmox/pve-access-control
// src/test at 5ccd07d9…); expectations are ours, from acl-semantics.md section C.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { AccessModel } from './model.ts';
import { parseUserCfg } from './usercfg.ts';

const cases = JSON.parse(readFileSync(new URL('./testdata/acl-cases.json', import.meta.url), 'utf8')) as {
  suites: { name: string; usercfg?: string }[];
};
const model = (name: string): AccessModel =>
  AccessModel.compile(parseUserCfg(cases.suites.find((s) => s.name === name)!.usercfg!).config, { now: 2000 });

describe('explain', () => {
  it('names the deeper user entry that replaced an inherited group grant', () => {
    const e = model('perm-test1').explain('max@pve', '/vms/100', 'VM.Allocate');
    expect(e).toMatchObject({ granted: false, propagate: null, subjectKind: 'user' });
    const walk = e.steps.find((s) => s.kind === 'acl-walk');
    expect(walk).toMatchObject({ walk: { decidedAt: '/vms/100', decidedBy: 'user' }, grantsPrivilege: false });
    const text = e.sentences.join('\n');
    expect(text).toMatch(/customer for user max@pve on \/vms\/100/);
    expect(text).toMatch(
      /vm_admin for group @testgroup1 on \/vms \(propagating\) would grant VM.Allocate, but the deeper ACL on \/vms\/100 replaces it/,
    );
  });

  it('says which group NoAccess wiped out the other groups at the same node', () => {
    const e = model('perm-test1').explain('sue@pve', '/vms/200', 'VM.Audit');
    expect(e.granted).toBe(false);
    expect(e.sentences.join('\n')).toMatch(/NoAccess for group @testgroup2 on \/vms\/200 removes every other role/);
    const also = model('perm-test1').explain('sue@pve', '/vms/200', 'Datastore.Audit');
    expect(also.sentences.join('\n')).not.toMatch(/would grant Datastore.Audit/); // testgroup3 is not sue's
  });

  it('shows the granting group, its path and the propagate flag', () => {
    const e = model('perm-test1').explain('joe@pve', '/vms/5', 'VM.Console');
    expect(e).toMatchObject({ granted: true, propagate: 1 });
    expect(e.sentences[0]).toBe('joe@pve HAS VM.Console on /vms/5 (propagate=1).');
    expect(e.sentences.join('\n')).toMatch(/inherited from \/vms because they propagate/);
    expect(e.sentences.join('\n')).toMatch(/VM.Console comes from role vm_admin \(group @testgroup1\)/);
  });

  it('explains pool-derived grants and a direct NoAccess that a pool cannot lift', () => {
    const m = model('perm-test6');
    const viaPool = m.explain('intern@pve', '/vms/700', 'VM.Audit');
    expect(viaPool.granted).toBe(true);
    expect(viaPool.steps).toContainEqual(
      expect.objectContaining({ kind: 'pool', pool: 'marketing/interns', effect: 'adds-privilege' }),
    );
    expect(viaPool.sentences.join('\n')).toMatch(/VM 700 is in pool 'marketing\/interns'/);
    const blocked = m.explain('User3@pve', '/vms/500', 'VM.PowerMgmt');
    expect(blocked.granted).toBe(false);
    expect(blocked.steps).toContainEqual(
      expect.objectContaining({ kind: 'pool', effect: 'blocked-by-direct-noaccess' }),
    );
  });

  it('explains the privsep token intersection with its owner', () => {
    const m = model('perm-test8');
    const e = m.explain('max@pve!token2', '/vms/300', 'Sys.Audit');
    expect(e.granted).toBe(false);
    expect(e.steps).toContainEqual({ kind: 'token-intersection', owner: 'max@pve', tokenHas: true, ownerHas: false });
    expect(e.sentences.join('\n')).toMatch(/keeps a privilege only when both have it/);
    const ok = m.explain('max@pve!token2', '/vms/300', 'VM.Allocate');
    expect(ok).toMatchObject({ granted: true, propagate: 1 });
  });

  it('explains shared tokens, undefined tokens, root@pam and invalid ids', () => {
    const m = model('perm-test8');
    expect(m.explain('max@pve!token', '/vms/100', 'VM.Audit').steps[0]).toEqual({
      kind: 'shared-token',
      owner: 'max@pve',
    });
    expect(m.explain('max@pve!nope', '/vms', 'VM.Audit').steps[0]).toEqual({
      kind: 'undefined-token',
      owner: 'max@pve',
    });
    expect(m.explain('root@pam', '/', 'Sys.Modify')).toMatchObject({ granted: true, steps: [{ kind: 'superuser' }] });
    expect(m.explain('garbage', '/', 'Sys.Modify').steps).toEqual([{ kind: 'invalid-subject' }]);
  });

  it('notes that a disabled or expired account keeps its computed privileges but cannot authenticate', () => {
    const m = AccessModel.compile(
      parseUserCfg('user:old@pve:1:1000::::::\nuser:off@pve:0:0::::::\nacl:1:/:old@pve,off@pve:PVEAuditor:\n').config,
      { now: 2000 },
    );
    const old = m.explain('old@pve', '/vms', 'VM.Audit');
    expect(old.granted).toBe(true);
    expect(old.sentences.at(-1)).toMatch(/user 'old@pve' expired at 1970-01-01T00:16:40.000Z, so PVE refuses/);
    expect(m.explain('off@pve', '/vms', 'VM.Audit').sentences.at(-1)).toMatch(/user 'off@pve' is disabled/);
  });
});
