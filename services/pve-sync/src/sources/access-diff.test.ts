import { describe, expect, it } from 'vitest';
import { hygieneFindings, hygieneIndex } from '@tenantgate/pve-access';
import { accessItemRef, accessUserConfig, diffAccessKind, normaliseAccess } from './access-diff.ts';

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

  it('regression: hygiene findings come from the pve-access engine, with its codes', () => {
    const snap = normaliseAccess(base);
    const config = accessUserConfig(base);
    const engine = hygieneFindings(config, { now: 0 });
    const index = hygieneIndex(config, { now: 0 });
    const codesOf = (kind: Parameters<typeof accessItemRef>[0], key: string) =>
      [...new Set(index.forItem(accessItemRef(kind, key, snap[kind][key]!)).map((f) => f.code))].sort();
    expect(codesOf('tokens', 'alice@pve!ci')).toEqual(['TOKEN_NO_EXPIRY', 'TOKEN_PRIVSEP_OFF']);
    expect(codesOf('acl', '/|user|alice@pve|Administrator')).toEqual(['ADMIN_ON_ROOT']);
    // The same names the engine (gateway access review, CLI) reports for the same configuration.
    expect(engine.map((f) => `${f.code} ${f.subject}`).sort()).toEqual([
      'ADMIN_ON_ROOT alice@pve',
      'TOKEN_NO_EXPIRY alice@pve!ci',
      'TOKEN_PRIVSEP_OFF alice@pve!ci',
    ]);
    const disabledInput = { ...base, users: [{ userid: 'alice@pve', enable: false }] };
    const disabled = normaliseAccess(disabledInput);
    const d = hygieneIndex(accessUserConfig(disabledInput), { now: 0 });
    expect(d.forItem(accessItemRef('users', 'alice@pve', disabled.users['alice@pve']!)).map((f) => f.code)).toEqual([
      'ADMIN_ON_ROOT',
      'DISABLED_USER_GRANTED',
    ]);
  });
});
