import { describe, expect, it } from 'vitest';
import { diffAccessKind, findings, normaliseAccess } from './access-diff.ts';

const base = {
  users: [
    { userid: 'alice@pve', enable: true, groups: ['ops'], tokens: [{ tokenid: 'ci', privsep: false, expire: 0 }] },
  ],
  groups: [{ groupid: 'ops', users: ['alice@pve'] }],
  roles: [{ roleid: 'Administrator', privs: ['Sys.Modify', 'VM.Audit'], special: true }],
  acl: [{ path: '/', type: 'user' as const, ugid: 'alice@pve', roleid: 'Administrator', propagate: true }],
  pools: [{ poolid: 'acme' }],
};

describe('access snapshots', () => {
  it('diffs users, tokens and ACL entries by key', () => {
    const before = normaliseAccess(base);
    const after = normaliseAccess({
      ...base,
      users: [{ userid: 'alice@pve', enable: false, groups: ['ops'], tokens: [] }],
      acl: [{ path: '/vms/100', type: 'group', ugid: 'ops', roleid: 'PVEVMUser', propagate: true }],
    });
    expect(diffAccessKind('users', before.users, after.users).map((c) => [c.key, c.op])).toEqual([
      ['alice@pve', 'changed'],
    ]);
    expect(diffAccessKind('tokens', before.tokens, after.tokens).map((c) => [c.key, c.op])).toEqual([
      ['alice@pve!ci', 'deleted'],
    ]);
    expect(diffAccessKind('acl', before.acl, after.acl).map((c) => c.op)).toEqual(['created', 'deleted']);
    expect(diffAccessKind('pools', before.pools, after.pools)).toEqual([]);
  });

  it('finds hygiene problems', () => {
    const snap = normaliseAccess(base);
    expect(findings('tokens', 'alice@pve!ci', snap.tokens['alice@pve!ci']!, snap, 0)).toEqual([
      'token-without-expiry',
      'token-privsep-disabled',
    ]);
    expect(
      findings('acl', '/|user|alice@pve|Administrator', snap.acl['/|user|alice@pve|Administrator']!, snap, 0),
    ).toEqual(['administrator-on-root', 'propagating-grant-on-root', 'sensitive-privileges']);
    const disabled = normaliseAccess({ ...base, users: [{ userid: 'alice@pve', enable: false }] });
    expect(findings('users', 'alice@pve', disabled.users['alice@pve']!, disabled, 0)).toEqual([
      'disabled-user-with-grants',
    ]);
  });
});
