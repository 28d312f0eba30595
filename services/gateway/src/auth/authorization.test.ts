import { describe, expect, it } from 'vitest';
import { Authorization } from './authorization.ts';
import type { Principal, RequestAuth } from './principal.ts';

const A = '11111111-1111-4111-8111-111111111111';
const B = '22222222-2222-4222-8222-222222222222';

function principal(over: Partial<Principal> = {}): Principal {
  return {
    userId: 'u',
    username: 'u',
    isPortalAdmin: false,
    isComplianceAuditor: false,
    memberships: new Map(),
    credential: { kind: 'session', sessionId: 's' },
    ...over,
  };
}
const member = (tenantId: string, role: 'tenant_admin' | 'tenant_user', privileges: string[]) =>
  new Map([[tenantId, { tenantId, role, privileges: new Set(privileges) }]]);
const auth = (p: Principal | null, activeTenantId: string | null = A): RequestAuth => ({
  principal: p,
  activeTenantId,
  rejectedTenantId: null,
});

const authz = new Authorization();

describe('Authorization', () => {
  it('gives tenant users exactly their membership privileges in their tenant', () => {
    const p = principal({ memberships: member(A, 'tenant_user', ['VM.Audit']) });
    expect(authz.can(auth(p), 'resource.read')).toBe(true);
    expect(authz.can(auth(p), 'resource.power')).toBe(false);
    expect(authz.can(auth(p), 'audit.read')).toBe(true);
    expect(authz.can(auth(p), 'audit.export')).toBe(false);
    expect(authz.can(auth(p), 'tenant.manage')).toBe(false);
    expect(authz.can(auth(p, B), 'resource.read')).toBe(false);
    expect(authz.mayUseTenant(p, B)).toBe(false);
  });

  it('gives tenant admins management of their tenant only', () => {
    const p = principal({ memberships: member(A, 'tenant_admin', []) });
    for (const a of [
      'resource.read',
      'resource.power',
      'audit.read',
      'alert.manage',
      'tenant.manage',
      'access.review',
    ] as const)
      expect(authz.can(auth(p), a)).toBe(true);
    expect(authz.can(auth(p), 'provider.manage')).toBe(false);
    expect(authz.can(auth(p), 'audit.readProvider')).toBe(false);
    expect(authz.can(auth(p, B), 'tenant.manage')).toBe(false);
  });

  it('lets compliance auditors read audit and alerts everywhere, never act on resources', () => {
    const p = principal({ isComplianceAuditor: true });
    expect(authz.can(auth(p, B), 'audit.read')).toBe(true);
    expect(authz.can(auth(p, B), 'alert.read')).toBe(true);
    expect(authz.can(auth(p), 'audit.readProvider')).toBe(true);
    expect(authz.can(auth(p), 'resource.read')).toBe(false);
    expect(authz.can(auth(p), 'resource.power')).toBe(false);
    expect(authz.can(auth(p), 'alert.manage')).toBe(false);
  });

  it('lets portal admins do everything in every tenant', () => {
    const p = principal({ isPortalAdmin: true });
    for (const a of ['resource.power', 'tenant.manage', 'provider.manage', 'audit.readProvider'] as const)
      expect(authz.can(auth(p, B), a)).toBe(true);
  });

  it('intersects privsep API tokens with the owner and drops global roles for them', () => {
    const token = (privileges: string[] | null) => ({
      kind: 'token' as const,
      tokenId: 't',
      tokenName: 'n',
      privileges: privileges ? new Set(privileges) : null,
    });
    const user = principal({
      memberships: member(A, 'tenant_user', ['VM.Audit']),
      credential: token(['VM.Audit', 'VM.PowerMgmt']),
    });
    expect([...authz.privilegesIn(user, A)]).toEqual(['VM.Audit']);
    const admin = principal({ isPortalAdmin: true, credential: token(['VM.Audit']) });
    expect(authz.can(auth(admin), 'provider.manage')).toBe(false);
    expect(authz.can(auth(admin, B), 'resource.read')).toBe(false);
    const full = principal({ isPortalAdmin: true, credential: token(null) });
    expect(authz.can(auth(full), 'provider.manage')).toBe(true);
  });

  it('answers tenantScope with the reason: no tenant, rejected tenant, not allowed, anonymous', () => {
    const p = principal({ memberships: member(A, 'tenant_user', ['VM.Audit']) });
    expect(authz.tenantScope(auth(p), 'resource.read').tenantId).toBe(A);
    expect(() => authz.tenantScope(auth(p, null), 'resource.read')).toThrow(
      expect.objectContaining({ code: 'BAD_USER_INPUT' }),
    );
    expect(() =>
      authz.tenantScope({ principal: p, activeTenantId: null, rejectedTenantId: B }, 'resource.read'),
    ).toThrow(expect.objectContaining({ code: 'FORBIDDEN' }));
    expect(() => authz.tenantScope(auth(p), 'resource.power')).toThrow(expect.objectContaining({ code: 'FORBIDDEN' }));
    expect(() => authz.tenantScope(auth(null), 'resource.read')).toThrow(
      expect.objectContaining({ code: 'UNAUTHENTICATED' }),
    );
  });
});
