import type { GatewayContext } from './context.ts';
import { notFound } from './denials.ts';
import { toResource } from './mappers.ts';
import { keyOf } from './resolvers.ts';
import { hygiene, loadAccessModel, reviewGuest } from '../data/pve-access.ts';
import type { Principal } from '../auth/principal.ts';

/** Access reviews (Tenant Admin of the active tenant) and hygiene findings (provider roles). */
export const AccessQueries = {
  async members(_: unknown, __: unknown, ctx: GatewayContext) {
    const scope = ctx.services.authz.tenantScope(ctx.auth, 'tenant.manage');
    const rows = await ctx.em.execute<
      Array<{
        username: string;
        display_name: string;
        role: string;
        privileges: string[];
        disabled: boolean;
        last_login_at: Date | null;
      }>
    >(
      `SELECT u.username, u.display_name, m.role, m.privileges, u.disabled, u.last_login_at
         FROM membership m JOIN portal_user u ON u.id = m.user_id WHERE m.tenant_id = ? ORDER BY u.username`,
      [scope.tenantId],
    );
    return rows.map((r) => ({
      username: r.username,
      displayName: r.display_name,
      role: r.role,
      privileges: r.privileges,
      disabled: r.disabled,
      lastLoginAt: r.last_login_at ? new Date(r.last_login_at) : null,
    }));
  },

  async accessReview(_: unknown, args: { resourceId: string }, ctx: GatewayContext) {
    const scope = ctx.services.authz.tenantScope(ctx.auth, 'access.review');
    const guestId = keyOf(args.resourceId, 'Guest');
    const [guest] = guestId ? await ctx.services.resources.byIds(ctx.em, scope, [guestId]) : [];
    if (!guest) throw await notFound(ctx, 'Resource', args.resourceId);
    // Portal side: members of the tenant and portal admins, privileges decided by the authorization service.
    const members = await ctx.em.execute<
      Array<{
        id: string;
        username: string;
        role: 'tenant_admin' | 'tenant_user' | null;
        privileges: string[] | null;
        is_portal_admin: boolean;
        disabled: boolean;
      }>
    >(
      `SELECT u.id, u.username, m.role, m.privileges, u.is_portal_admin, u.disabled
         FROM portal_user u LEFT JOIN membership m ON m.user_id = u.id AND m.tenant_id = ?
        WHERE (m.id IS NOT NULL OR u.is_portal_admin) ORDER BY u.username`,
      [scope.tenantId],
    );
    const portal = members
      .filter((m) => !m.disabled)
      .map((m) => {
        const principal: Principal = {
          userId: m.id,
          username: m.username,
          isPortalAdmin: m.is_portal_admin,
          isComplianceAuditor: false,
          memberships: m.role
            ? new Map([
                [scope.tenantId, { tenantId: scope.tenantId, role: m.role, privileges: new Set(m.privileges ?? []) }],
              ])
            : new Map(),
          credential: { kind: 'session', sessionId: '' },
        };
        const privileges = [...ctx.services.authz.privilegesIn(principal, scope.tenantId)].sort();
        return { username: m.username, role: m.is_portal_admin ? 'portal_admin' : m.role!, privileges };
      })
      .filter((p) => p.privileges.length > 0);
    const access = await loadAccessModel(ctx.em, guest.connection_id);
    return {
      resource: toResource(guest),
      portal,
      pve: access ? reviewGuest(access, guest.vmid) : [],
      snapshotAt: access?.takenAt ?? null,
    };
  },

  async hygieneFindings(_: unknown, args: { connectionId?: string | null }, ctx: GatewayContext) {
    ctx.services.authz.assert(ctx.auth, 'provider.read', null);
    const connections = (await ctx.services.tenants.connections(ctx.em, null)).filter(
      (c) => !args.connectionId || keyOf(args.connectionId, 'Connection') === c.id,
    );
    const out = [];
    for (const c of connections) {
      const access = await loadAccessModel(ctx.em, c.id);
      if (!access) continue;
      const logins = await ctx.em.execute<Array<{ who: string; last: Date }>>(
        `SELECT COALESCE(actor_principal, actor_id) AS who, max(occurred_at) AS last FROM audit_record
          WHERE connection_id = ? AND action IN ('auth.login_succeeded', 'auth.openid_login_succeeded') GROUP BY 1`,
        [c.id],
      );
      const last = new Map(logins.map((l) => [l.who, new Date(l.last)]));
      for (const f of hygiene(access, last)) out.push({ connection: c.name, ...f });
    }
    return out;
  },
};
