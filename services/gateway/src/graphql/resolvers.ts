import { AppError, isAppError } from '@tenantgate/shared';
import type { GatewayContext } from './context.ts';
import { notFound } from './denials.ts';
import { toAlert, toAlertRule, toAuditEvent, toConnection, toResource, toTask, toTenant } from './mappers.ts';
import { fromGlobalId, pageSize, toGlobalId } from './relay.ts';
import type {
  Alert,
  AlertFilter,
  AuditEvent,
  AuditLogFilter,
  Connection,
  ConnectionOf,
  Resource,
  ResourceFilter,
  ResourceOrder,
  Task,
  TaskFilter,
  Tenant,
} from './types.ts';
import type { Page } from '../data/resources.ts';
import { auditAccess } from './compliance.ts';

// Thin resolvers (STYLE.md principle 6): validate input, ask the authorization service for a
// scope, call a repository with it, map the rows.

type Args<T> = T;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function connectionOf<R, T>(page: Page<R>, map: (row: R) => T): ConnectionOf<T> {
  return {
    edges: page.rows.map((r, i) => ({ cursor: page.cursors[i]!, node: map(r) })),
    pageInfo: { hasNextPage: page.hasNextPage, endCursor: page.cursors.at(-1) ?? null },
  };
}

/** The uuid behind a global id of `type`, or null (callers answer NOT_FOUND, audited). */
export function keyOf(id: string, type: string): string | null {
  const g = fromGlobalId(id);
  return g?.type === type && UUID.test(g.key) ? g.key.toLowerCase() : null;
}

/** The alert owner the caller reads: the provider (null) for provider roles on request, else the active tenant. */
export function alertTenant(ctx: GatewayContext, provider: boolean): string | null {
  if (provider) {
    ctx.services.authz.assert(ctx.auth, 'audit.readProvider', null);
    return null;
  }
  return ctx.services.authz.tenantScope(ctx.auth, 'alert.read').tenantId;
}

async function tenant(_: unknown, { id }: Args<{ id: string }>, ctx: GatewayContext): Promise<Tenant> {
  const p = ctx.services.authz.requirePrincipal(ctx.auth);
  const tenantId = keyOf(id, 'Tenant');
  if (!tenantId || !ctx.services.authz.mayUseTenant(p, tenantId)) throw await notFound(ctx, 'Tenant', id);
  const row = await ctx.loaders.tenantById.load(tenantId);
  if (!row) throw await notFound(ctx, 'Tenant', id);
  return toTenant(row);
}

async function resource(_: unknown, { id }: Args<{ id: string }>, ctx: GatewayContext): Promise<Resource> {
  const scope = ctx.services.authz.tenantScope(ctx.auth, 'resource.read');
  const guestId = keyOf(id, 'Guest');
  const rows = guestId ? await ctx.services.resources.byIds(ctx.em, scope, [guestId]) : [];
  if (!rows[0]) throw await notFound(ctx, 'Resource', id);
  return toResource(rows[0]);
}

async function alert(_: unknown, { id }: Args<{ id: string }>, ctx: GatewayContext): Promise<Alert> {
  const tenantId = alertTenant(ctx, false);
  const alertId = keyOf(id, 'Alert');
  const row = alertId ? await ctx.services.alerts.byId(ctx.em, tenantId, alertId) : undefined;
  if (!row) throw await notFound(ctx, 'Alert', id);
  return toAlert(row);
}

export const Query = {
  me(_: unknown, __: unknown, ctx: GatewayContext) {
    const p = ctx.services.authz.requirePrincipal(ctx.auth);
    const active = ctx.auth.activeTenantId;
    return {
      id: toGlobalId('User', p.userId),
      username: p.username,
      isPortalAdmin: p.isPortalAdmin,
      isComplianceAuditor: p.isComplianceAuditor,
      credential: p.credential.kind === 'session' ? 'session' : `${p.username}!${p.credential.tokenName}`,
      memberships: [...p.memberships.values()].map((m) => ({
        tenantId: m.tenantId,
        role: m.role,
        privileges: [...m.privileges],
      })),
      activeTenantId: active,
      privileges: active ? [...ctx.services.authz.privilegesIn(p, active)].sort() : [],
    };
  },

  async tenants(_: unknown, __: unknown, ctx: GatewayContext): Promise<Tenant[]> {
    const p = ctx.services.authz.requirePrincipal(ctx.auth);
    if (ctx.services.authz.can(ctx.auth, 'provider.read'))
      return (await ctx.services.tenants.all(ctx.em)).map(toTenant);
    const rows = await ctx.services.tenants.byIds(ctx.em, [...p.memberships.keys()]);
    return rows.sort((a, b) => a.slug.localeCompare(b.slug)).map(toTenant);
  },

  tenant,

  async node(_: unknown, args: Args<{ id: string }>, ctx: GatewayContext): Promise<Tenant | Resource | Alert> {
    const type = fromGlobalId(args.id)?.type;
    if (type === 'Guest') return await resource(_, args, ctx);
    if (type === 'Tenant') return await tenant(_, args, ctx);
    if (type === 'Alert') return await alert(_, args, ctx);
    throw await notFound(ctx, 'Node', args.id);
  },

  async connections(_: unknown, __: unknown, ctx: GatewayContext): Promise<Connection[]> {
    const authz = ctx.services.authz;
    if (authz.can(ctx.auth, 'provider.read'))
      return (await ctx.services.tenants.connections(ctx.em, null)).map((c) => toConnection(c, true));
    const scope = authz.tenantScope(ctx.auth, 'tenant.manage');
    return (await ctx.services.tenants.connections(ctx.em, scope.tenantId)).map((c) => toConnection(c, false));
  },

  async resources(
    _: unknown,
    args: Args<{
      first?: number | null;
      after?: string | null;
      filter?: ResourceFilter | null;
      orderBy?: ResourceOrder | null;
    }>,
    ctx: GatewayContext,
  ): Promise<ConnectionOf<Resource>> {
    const scope = ctx.unscoped ? 'unscoped' : ctx.services.authz.tenantScope(ctx.auth, 'resource.read');
    const first = pageSize(args.first, ctx.services.maxPageSize);
    const connectionIds: string[] = [];
    for (const c of args.filter?.clusterIds ?? []) {
      const id = keyOf(c, 'Connection');
      if (!id) throw await notFound(ctx, 'Cluster', c);
      connectionIds.push(id);
    }
    const filter = { ...args.filter, connectionIds: args.filter?.clusterIds ? connectionIds : null };
    const order = { field: args.orderBy?.field ?? 'NAME', direction: args.orderBy?.direction ?? 'ASC' } as const;
    const page = await ctx.services.resources.page(ctx.em, scope, filter, order, first, args.after ?? null);
    return connectionOf(page, toResource);
  },

  resource,

  async tasks(
    _: unknown,
    args: Args<{ first?: number | null; after?: string | null; filter?: TaskFilter | null }>,
    ctx: GatewayContext,
  ): Promise<ConnectionOf<Task>> {
    const scope = ctx.services.authz.tenantScope(ctx.auth, 'resource.read');
    let guestId: string | null = null;
    if (args.filter?.resourceId) {
      guestId = keyOf(args.filter.resourceId, 'Guest');
      // A foreign or unknown guest is NOT_FOUND (not an empty page), like every id lookup.
      const visible = guestId ? await ctx.services.resources.byIds(ctx.em, scope, [guestId]) : [];
      if (!visible[0]) throw await notFound(ctx, 'Resource', args.filter.resourceId);
    }
    const filter = { guestId, outcome: args.filter?.outcome ?? null, type: args.filter?.type ?? null };
    const page = await ctx.services.tasks.page(
      ctx.em,
      scope,
      filter,
      pageSize(args.first, ctx.services.maxPageSize),
      args.after ?? null,
    );
    return connectionOf(page, toTask);
  },

  async auditLog(
    _: unknown,
    args: Args<{ filter?: AuditLogFilter | null; first?: number | null; after?: string | null }>,
    ctx: GatewayContext,
  ): Promise<ConnectionOf<AuditEvent>> {
    const authz = ctx.services.authz;
    let chainId: string;
    if (args.filter?.provider) {
      authz.assert(ctx.auth, 'audit.readProvider', null);
      chainId = 'provider';
    } else {
      chainId = authz.tenantScope(ctx.auth, 'audit.read').tenantId;
    }
    // The page size is refused before the read is audited; auditAccess caps long strings.
    const first = pageSize(args.first, ctx.services.maxPageSize);
    await auditAccess(ctx, chainId, 'audit.read', {
      filter: args.filter ?? {},
      first,
      after: args.after ?? null,
    });
    const page = await ctx.services.auditLog.page(ctx.em, chainId, args.filter ?? {}, first, args.after ?? null);
    return connectionOf(page, toAuditEvent);
  },

  async alerts(
    _: unknown,
    args: Args<{ filter?: AlertFilter | null; first?: number | null; after?: string | null }>,
    ctx: GatewayContext,
  ): Promise<ConnectionOf<Alert>> {
    const tenantId = alertTenant(ctx, args.filter?.provider ?? false);
    const page = await ctx.services.alerts.page(
      ctx.em,
      tenantId,
      args.filter ?? {},
      pageSize(args.first, ctx.services.maxPageSize),
      args.after ?? null,
    );
    return connectionOf(page, toAlert);
  },

  alert,

  async alertRules(_: unknown, __: unknown, ctx: GatewayContext) {
    const scope = ctx.services.authz.tenantScope(ctx.auth, 'alert.read');
    const rows = await ctx.services.alerts.rules(ctx.em, scope.tenantId);
    return rows.map(toAlertRule);
  },
};

export const ResourceFields = {
  async tasks(resource: Resource, _: unknown, ctx: GatewayContext): Promise<Task[]> {
    return (await ctx.loaders.tasksByGuest.load(resource.rowId)).map(toTask);
  },
  async tenant(resource: Resource, _: unknown, ctx: GatewayContext): Promise<Tenant | null> {
    if (!resource.tenantRowId) return null;
    const row = await ctx.loaders.tenantById.load(resource.tenantRowId);
    return row ? toTenant(row) : null;
  },
};

/** Another user's token and an unknown one answer alike (audited NOT_FOUND). */
async function ownTokenOr404<T>(ctx: GatewayContext, id: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (isAppError(err) && err.code === 'NOT_FOUND') throw await notFound(ctx, 'ApiToken', id);
    throw err;
  }
}

export const AuthMutations = {
  async login(_: unknown, { username, password }: Args<{ username: string; password: string }>, ctx: GatewayContext) {
    if (username.length > 200 || password.length > 1024) throw AppError.badInput('Credentials too long');
    return await ctx.services.authn.login(username, password, ctx);
  },

  async logout(_: unknown, __: unknown, ctx: GatewayContext): Promise<boolean> {
    await ctx.services.authn.logout(ctx.services.authz.requirePrincipal(ctx.auth), ctx);
    return true;
  },

  async createApiToken(
    _: unknown,
    args: Args<{ name: string; privileges?: string[] | null; expiresAt?: Date | null }>,
    ctx: GatewayContext,
  ) {
    const p = ctx.services.authz.requirePrincipal(ctx.auth);
    const input = { name: args.name, privileges: args.privileges ?? null, expiresAt: args.expiresAt ?? null };
    const res = await ctx.services.authn.createApiToken(ctx.em, p, input, ctx);
    return { ...res, id: toGlobalId('ApiToken', res.id) };
  },

  async revokeApiToken(_: unknown, { id }: Args<{ id: string }>, ctx: GatewayContext): Promise<boolean> {
    const p = ctx.services.authz.requirePrincipal(ctx.auth);
    const key = keyOf(id, 'ApiToken');
    if (!key) throw await notFound(ctx, 'ApiToken', id);
    await ownTokenOr404(ctx, id, () => ctx.services.authn.revokeOrRotateApiToken(ctx.em, p, key, false, ctx));
    return true;
  },

  async rotateApiToken(_: unknown, { id }: Args<{ id: string }>, ctx: GatewayContext) {
    const p = ctx.services.authz.requirePrincipal(ctx.auth);
    const key = keyOf(id, 'ApiToken');
    if (!key) throw await notFound(ctx, 'ApiToken', id);
    const rotated = await ownTokenOr404(ctx, id, () =>
      ctx.services.authn.revokeOrRotateApiToken(ctx.em, p, key, true, ctx),
    );
    return { id, tokenId: rotated!.tokenId, token: rotated!.token };
  },
};
