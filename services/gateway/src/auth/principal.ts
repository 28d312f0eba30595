/** A tenant membership of the authenticated user, as loaded at authentication time. */
export interface MembershipGrant {
  tenantId: string;
  role: 'tenant_admin' | 'tenant_user';
  privileges: ReadonlySet<string>;
}

/** Who is calling: a portal user through a session or through one of their API tokens. */
export interface Principal {
  userId: string;
  username: string;
  isPortalAdmin: boolean;
  isComplianceAuditor: boolean;
  memberships: ReadonlyMap<string, MembershipGrant>;
  credential:
    | { kind: 'session'; sessionId: string }
    /** privileges: null = the owner's privileges (privsep off), otherwise a subset of them. */
    | { kind: 'token'; tokenId: string; tokenName: string; privileges: ReadonlySet<string> | null };
}

/** The authentication outcome of one request or one graphql-ws connection. */
export interface RequestAuth {
  principal: Principal | null;
  /** The tenant named by X-Tenant-Id (or connection_init tenantId), validated against memberships. */
  activeTenantId: string | null;
  /** Set when the request named a tenant the caller may not use; decisions that need it fail then. */
  rejectedTenantId: string | null;
}
