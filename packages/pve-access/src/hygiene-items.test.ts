import { describe, expect, it } from 'vitest';
import { findingsForItem, hygieneIndex } from './hygiene-items.ts';
import { hygieneFindings } from './hygiene.ts';
import { parseUserCfg } from './usercfg.ts';

const NOW = 1_790_000_000;
const config = parseUserCfg(
  [
    'user:root@pam:1:0:::root@example.invalid:::',
    'user:dave@pve:1:0::::::',
    'user:carol@pve:0:0::::::',
    'user:bob@pve:1:0::::::',
    'token:bob@pve!automation:0:0::',
    'group:devs:carol@pve,bob@pve::',
    'role:Escalate:Sys.Modify,Permissions.Modify:',
    'acl:1:/:dave@pve:Administrator:',
    'acl:1:/:@devs:Escalate:',
    'acl:1:/pool/initech:carol@pve:PVEVMUser:',
    'acl:1:/vms/100:@devs:PVEVMUser:',
  ].join('\n'),
).config;
const codes = (fs: Array<{ code: string; subject: string }>) => fs.map((f) => `${f.code} ${f.subject}`).sort();

describe('findingsForItem', () => {
  const all = hygieneFindings(config, { now: NOW });

  it('selects the findings of users, tokens, groups, roles and ACL entries', () => {
    expect(codes(findingsForItem(all, { kind: 'user', userid: 'carol@pve' }))).toEqual([
      'DISABLED_USER_GRANTED carol@pve',
    ]);
    expect(codes(findingsForItem(all, { kind: 'token', tokenid: 'bob@pve!automation' }))).toEqual([
      'TOKEN_NO_EXPIRY bob@pve!automation',
      'TOKEN_PRIVSEP_OFF bob@pve!automation',
    ]);
    expect(codes(findingsForItem(all, { kind: 'group', groupid: 'devs' }))).toEqual([
      'ADMIN_ON_ROOT devs',
      'DISABLED_USER_GRANTED carol@pve',
    ]);
    expect(codes(findingsForItem(all, { kind: 'role', roleid: 'Escalate' }))).toEqual(['ADMIN_ON_ROOT devs']);
    const acl = (path: string, type: 'user' | 'group', ugid: string, roleid: string) =>
      codes(findingsForItem(all, { kind: 'acl', path, type, ugid, roleid }));
    expect(acl('/', 'user', 'dave@pve', 'Administrator')).toEqual(['ADMIN_ON_ROOT dave@pve']);
    expect(acl('/pool/initech', 'user', 'carol@pve', 'PVEVMUser')).toEqual(['DISABLED_USER_GRANTED carol@pve']);
    expect(acl('/vms/100', 'group', 'devs', 'PVEVMUser')).toEqual(['DISABLED_USER_GRANTED carol@pve']);
    expect(acl('/vms/100', 'user', 'dave@pve', 'PVEVMUser')).toEqual([]);
    expect(findingsForItem(all, { kind: 'pool', poolid: 'acme' })).toEqual([]);
  });

  it('regression: every finding of the whole-config run is reachable from its subject item', () => {
    const index = hygieneIndex(config, { now: NOW });
    expect(index.all).toEqual(all);
    for (const f of all) {
      const item =
        f.subjectType === 'token'
          ? ({ kind: 'token', tokenid: f.subject } as const)
          : f.subjectType === 'group'
            ? ({ kind: 'group', groupid: f.subject } as const)
            : ({ kind: 'user', userid: f.subject } as const);
      expect(index.forItem(item)).toContainEqual(f);
    }
  });
});
