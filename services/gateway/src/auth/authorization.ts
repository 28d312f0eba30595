import { AppError } from '@tenantgate/shared';
import type { Principal, RequestAuth } from './principal.ts';

/**
 * The one authorization service. Shield rules, resolvers, loaders, subscriptions and exports all
 * ask it; nothing else decides who may do what. Decisions are pure functions of the request's
 * authentication (loaded once per request), so they cost no SQL.
 */

/** PVE privilege names the portal understands on tenant resources. */
export const Privilege = {
  vmAudit: 'VM.Audit',
  vmPowerMgmt: 'VM.PowerMgmt',
  vmConsole: 'VM.Console',
  sysAudit: 'Sys.Audit',
} as const;

export type Action =
  /** list/read the active tenant's guests and their tasks */
  | 'resource.read'
  /** start/stop/... a guest of the active tenant */
  | 'resource.power'
  /** read the active tenant's audit chain (every member) */
  | 'audit.read'
  /** export the active tenant's audit chain */
  | 'audit.export'
  /** read the provider chain (chain_id = 'provider') */
  | 'audit.readProvider'
  /** read alerts and alert rules of the active tenant */
  | 'alert.read'
  /** acknowledge/resolve/silence alerts, manage alert rules of the active tenant */
  | 'alert.manage'
  /** manage memberships, assignments, settings of the active tenant */
  | 'tenant.manage'
  /** create/lock/delete tenants, manage PVE connections (provider operations) */
  | 'provider.manage'
  /** read tenants, connections and their health across the provider */
  | 'provider.read'
  /** access reviews and hygiene findings of the active tenant */
  | 'access.review';

/**
 * A proof that the caller may act on one tenant's data. Only `Authorization.tenantScope` creates
 * one; data-access functions take it instead of a bare id, so tenant scoping is structural.
 */
export class TenantScope {
  readonly #brand = 'TenantScope';
  private constructor(readonly tenantId: string) {}

  /** @internal used by Authorization only. */
  static grant(tenantId: string): TenantScope {
    return new TenantScope(tenantId);
  }

  toString(): string {
    return `${this.#brand}(${this.tenantId})`;
  }
}

/** Privileges that tenant admins hold implicitly in their tenant. */
const ALL_TENANT_PRIVILEGES = new Set<string>(Object.values(Privilege));

export class Authorization {
  /** The authenticated principal, or UNAUTHENTICATED. */
  requirePrincipal(auth: RequestAuth): Principal {
    if (!auth.principal) throw AppError.unauthenticated();
    return auth.principal;
  }

  /** Whether the caller may pick `tenantId` as the active tenant at all. */
  mayUseTenant(principal: Principal, tenantId: string): boolean {
    if (principal.isPortalAdmin && this.#globalRolesApply(principal)) return true;
    if (principal.isComplianceAuditor && this.#globalRolesApply(principal)) return true;
    return principal.memberships.has(tenantId);
  }

  /** Effective privileges of the caller in a tenant (token privileges intersected with the owner's). */
  privilegesIn(principal: Principal, tenantId: string): ReadonlySet<string> {
    let own: ReadonlySet<string>;
    if (principal.isPortalAdmin) own = ALL_TENANT_PRIVILEGES;
    else {
      const m = principal.memberships.get(tenantId);
      if (!m) own = new Set();
      else if (m.role === 'tenant_admin') own = new Set([...ALL_TENANT_PRIVILEGES, ...m.privileges]);
      else own = m.privileges;
    }
    const cred = principal.credential;
    if (cred.kind === 'token' && cred.privileges) return new Set([...own].filter((p) => cred.privileges!.has(p)));
    return own;
  }

  /** Decides one action; `tenantId` defaults to the active tenant. */
  can(auth: RequestAuth, action: Action, tenantId: string | null = auth.activeTenantId): boolean {
    const principal = auth.principal;
    if (!principal) return false;
    const admin = principal.isPortalAdmin && this.#globalRolesApply(principal);
    const auditor = principal.isComplianceAuditor && this.#globalRolesApply(principal);
    switch (action) {
      case 'provider.manage':
        return admin;
      case 'provider.read':
        return admin || auditor;
      case 'audit.readProvider':
        return admin || auditor;
      default:
        break;
    }
    if (!tenantId || !this.mayUseTenant(principal, tenantId)) return false;
    const membership = principal.memberships.get(tenantId);
    const tenantAdmin = admin || (membership?.role === 'tenant_admin' && this.#tokenIsUnrestricted(principal));
    const privs = this.privilegesIn(principal, tenantId);
    switch (action) {
      case 'resource.read':
        return privs.has(Privilege.vmAudit);
      case 'resource.power':
        return privs.has(Privilege.vmPowerMgmt);
      case 'audit.read':
        return admin || auditor || membership !== undefined;
      case 'audit.export':
        return admin || auditor || tenantAdmin || privs.has(Privilege.sysAudit);
      case 'alert.read':
        return admin || auditor || membership !== undefined;
      case 'alert.manage':
      case 'tenant.manage':
      case 'access.review':
        return tenantAdmin;
    }
  }

  /** Throws FORBIDDEN (or UNAUTHENTICATED) unless `can`. */
  assert(auth: RequestAuth, action: Action, tenantId: string | null = auth.activeTenantId): void {
    this.requirePrincipal(auth);
    if (!this.can(auth, action, tenantId)) throw AppError.forbidden(`Not allowed: ${action}`);
  }

  /**
   * The active tenant as a scope for data access, after checking `action` on it. Without an active
   * tenant the answer is BAD_USER_INPUT; a tenant the caller may not use is FORBIDDEN.
   */
  tenantScope(auth: RequestAuth, action: Action): TenantScope {
    this.requirePrincipal(auth);
    if (auth.rejectedTenantId) throw AppError.forbidden('Not a member of the requested tenant');
    if (!auth.activeTenantId) throw AppError.badInput('Select a tenant with the X-Tenant-Id header');
    this.assert(auth, action, auth.activeTenantId);
    return TenantScope.grant(auth.activeTenantId);
  }

  /** Scope for an explicitly named tenant (provider operations by admins, auditors' reads). */
  scopeFor(auth: RequestAuth, action: Action, tenantId: string): TenantScope {
    this.requirePrincipal(auth);
    if (!this.can(auth, action, tenantId)) throw AppError.notFound('Tenant');
    return TenantScope.grant(tenantId);
  }

  /** Global roles only act through sessions and privsep=0 tokens (a restricted token is tenant-only). */
  #globalRolesApply(principal: Principal): boolean {
    return this.#tokenIsUnrestricted(principal);
  }

  #tokenIsUnrestricted(principal: Principal): boolean {
    return principal.credential.kind === 'session' || principal.credential.privileges === null;
  }
}
