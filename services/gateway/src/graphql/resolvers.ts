import { Arg, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import { AppError } from '@tenantgate/shared';
import { GraphQLDateTimeISO } from 'graphql-scalars';
import type { GatewayContext } from './context.ts';
import { notFound } from './denials.ts';
import { toAlert, toAuditEvent, toConnection, toResource, toTask, toTenant } from './mappers.ts';
import { fromGlobalId, pageSize, toGlobalId, uuidOf } from './relay.ts';
import {
  Alert,
  AlertConnection,
  AlertFilter,
  AlertRule,
  ApiTokenPayload,
  AuditEventConnection,
  AuditLogFilter,
  Connection,
  LoginPayload,
  Me,
  Node,
  Resource,
  ResourceConnection,
  ResourceFilter,
  ResourceOrder,
  ResourceSortField,
  SortDirection,
  Task,
  TaskConnection,
  TaskFilter,
  Tenant,
} from './types.ts';

@Resolver()
export class QueryResolver {
  @Query(() => Me, { description: 'The caller' })
  me(@Ctx() ctx: GatewayContext): Me {
    const p = ctx.services.authz.requirePrincipal(ctx.auth);
    const active = ctx.auth.activeTenantId;
    return Object.assign(new Me(), {
      id: p.userId,
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
    });
  }

  @Query(() => [Tenant], { description: 'Tenants the caller may use' })
  async tenants(@Ctx() ctx: GatewayContext): Promise<Tenant[]> {
    const p = ctx.services.authz.requirePrincipal(ctx.auth);
    if (ctx.services.authz.can(ctx.auth, 'provider.read'))
      return (await ctx.services.tenants.all(ctx.em)).map(toTenant);
    const rows = await ctx.services.tenants.byIds(ctx.em, [...p.memberships.keys()]);
    return rows.sort((a, b) => a.slug.localeCompare(b.slug)).map(toTenant);
  }

  @Query(() => Tenant)
  async tenant(@Arg('id', () => ID) id: string, @Ctx() ctx: GatewayContext): Promise<Tenant> {
    const p = ctx.services.authz.requirePrincipal(ctx.auth);
    const key = fromGlobalId(id);
    const tenantId = key?.type === 'Tenant' ? key.key : null;
    if (!tenantId || !ctx.services.authz.mayUseTenant(p, tenantId)) throw await notFound(ctx, 'Tenant', id);
    const row = await ctx.loaders.tenantById.load(uuidOf(id, 'Tenant'));
    if (!row) throw await notFound(ctx, 'Tenant', id);
    return toTenant(row);
  }

  @Query(() => Node, { description: 'Any object by its global id; foreign and unknown ids are NOT_FOUND' })
  async node(@Arg('id', () => ID) id: string, @Ctx() ctx: GatewayContext): Promise<Node> {
    const type = fromGlobalId(id)?.type;
    if (type === 'Guest') return await this.resource(id, ctx);
    if (type === 'Tenant') return await this.tenant(id, ctx);
    if (type === 'Alert') return await this.alert(id, ctx);
    throw await notFound(ctx, 'Node', id);
  }

  @Query(() => [Connection], {
    description: 'PVE connections with sync health: all for provider roles, assigned ones for tenant admins',
  })
  async connections(@Ctx() ctx: GatewayContext): Promise<Connection[]> {
    const authz = ctx.services.authz;
    if (authz.can(ctx.auth, 'provider.read'))
      return (await ctx.services.tenants.connections(ctx.em, null)).map((c) => toConnection(c, true));
    const scope = authz.tenantScope(ctx.auth, 'tenant.manage');
    return (await ctx.services.tenants.connections(ctx.em, scope.tenantId)).map((c) => toConnection(c, false));
  }

  @Query(() => ResourceConnection, { description: 'Guests of the active tenant across its clusters' })
  async resources(
    @Ctx() ctx: GatewayContext,
    @Arg('first', () => Int, { nullable: true }) first?: number,
    @Arg('after', () => String, { nullable: true }) after?: string,
    @Arg('filter', () => ResourceFilter, { nullable: true }) filter?: ResourceFilter,
    @Arg('orderBy', () => ResourceOrder, { nullable: true }) orderBy?: ResourceOrder,
  ): Promise<ResourceConnection> {
    const scope = ctx.unscoped ? 'unscoped' : ctx.services.authz.tenantScope(ctx.auth, 'resource.read');
    const n = pageSize(first, ctx.services.maxPageSize);
    const page = await ctx.services.resources.page(
      ctx.em,
      scope,
      {
        ...filter,
        connectionIds: filter?.clusterIds?.map((c) => uuidOf(c, 'Connection')) ?? null,
      },
      { field: orderBy?.field ?? ResourceSortField.NAME, direction: orderBy?.direction ?? SortDirection.ASC },
      n,
      after ?? null,
    );
    return {
      edges: page.rows.map((r, i) => ({ cursor: page.cursors[i]!, node: toResource(r) })),
      pageInfo: { hasNextPage: page.hasNextPage, endCursor: page.cursors.at(-1) ?? null },
    };
  }

  @Query(() => Resource)
  async resource(@Arg('id', () => ID) id: string, @Ctx() ctx: GatewayContext): Promise<Resource> {
    const scope = ctx.services.authz.tenantScope(ctx.auth, 'resource.read');
    const g = fromGlobalId(id);
    const rows =
      g?.type === 'Guest' && UUID.test(g.key) ? await ctx.services.resources.byIds(ctx.em, scope, [g.key]) : [];
    if (!rows[0]) throw await notFound(ctx, 'Resource', id);
    return toResource(rows[0]);
  }

  @Query(() => TaskConnection, { description: "PVE tasks of the active tenant's guests, newest first" })
  async tasks(
    @Ctx() ctx: GatewayContext,
    @Arg('first', () => Int, { nullable: true }) first?: number,
    @Arg('after', () => String, { nullable: true }) after?: string,
    @Arg('filter', () => TaskFilter, { nullable: true }) filter?: TaskFilter,
  ): Promise<TaskConnection> {
    const scope = ctx.services.authz.tenantScope(ctx.auth, 'resource.read');
    let guestId: string | null = null;
    if (filter?.resourceId) {
      const g = fromGlobalId(filter.resourceId);
      if (g?.type !== 'Guest' || !UUID.test(g.key)) throw await notFound(ctx, 'Resource', filter.resourceId);
      guestId = g.key;
    }
    const page = await ctx.services.tasks.page(
      ctx.em,
      scope,
      { guestId, outcome: filter?.outcome ?? null, type: filter?.type ?? null },
      pageSize(first, ctx.services.maxPageSize),
      after ?? null,
    );
    return {
      edges: page.rows.map((r, i) => ({ cursor: page.cursors[i]!, node: toTask(r) })),
      pageInfo: { hasNextPage: page.hasNextPage, endCursor: page.cursors.at(-1) ?? null },
    };
  }

  @Query(() => AuditEventConnection, { description: "The active tenant's audit chain, or the provider chain" })
  async auditLog(
    @Ctx() ctx: GatewayContext,
    @Arg('filter', () => AuditLogFilter, { nullable: true }) filter?: AuditLogFilter,
    @Arg('first', () => Int, { nullable: true }) first?: number,
    @Arg('after', () => String, { nullable: true }) after?: string,
  ): Promise<AuditEventConnection> {
    const authz = ctx.services.authz;
    let chainId: string;
    if (filter?.provider) {
      authz.assert(ctx.auth, 'audit.readProvider', null);
      chainId = 'provider';
    } else {
      chainId = authz.tenantScope(ctx.auth, 'audit.read').tenantId;
    }
    const page = await ctx.services.auditLog.page(
      ctx.em,
      chainId,
      filter ?? {},
      pageSize(first, ctx.services.maxPageSize),
      after ?? null,
    );
    return {
      edges: page.rows.map((r, i) => ({ cursor: page.cursors[i]!, node: toAuditEvent(r) })),
      pageInfo: { hasNextPage: page.hasNextPage, endCursor: page.cursors.at(-1) ?? null },
    };
  }

  @Query(() => AlertConnection)
  async alerts(
    @Ctx() ctx: GatewayContext,
    @Arg('filter', () => AlertFilter, { nullable: true }) filter?: AlertFilter,
    @Arg('first', () => Int, { nullable: true }) first?: number,
    @Arg('after', () => String, { nullable: true }) after?: string,
  ): Promise<AlertConnection> {
    const tenantId = alertTenant(ctx, filter?.provider ?? false);
    const page = await ctx.services.alerts.page(
      ctx.em,
      tenantId,
      filter ?? {},
      pageSize(first, ctx.services.maxPageSize),
      after ?? null,
    );
    return {
      edges: page.rows.map((r, i) => ({ cursor: page.cursors[i]!, node: toAlert(r) })),
      pageInfo: { hasNextPage: page.hasNextPage, endCursor: page.cursors.at(-1) ?? null },
    };
  }

  @Query(() => Alert)
  async alert(@Arg('id', () => ID) id: string, @Ctx() ctx: GatewayContext): Promise<Alert> {
    const tenantId = alertTenant(ctx, false);
    const g = fromGlobalId(id);
    const row =
      g?.type === 'Alert' && UUID.test(g.key) ? await ctx.services.alerts.byId(ctx.em, tenantId, g.key) : undefined;
    if (!row) throw await notFound(ctx, 'Alert', id);
    return toAlert(row);
  }

  @Query(() => [AlertRule], { description: 'Built-in rules and the active tenant’s own rules' })
  async alertRules(@Ctx() ctx: GatewayContext): Promise<AlertRule[]> {
    const scope = ctx.services.authz.tenantScope(ctx.auth, 'alert.read');
    const rows = await ctx.services.alerts.rules(ctx.em, scope.tenantId);
    return rows.map((r) =>
      Object.assign(new AlertRule(), {
        id: r.id,
        code: r.code,
        kind: r.kind,
        name: r.name,
        severity: r.severity,
        enabled: r.enabled,
        builtin: r.tenant_id === null,
        params: r.params,
        scope: r.scope,
      }),
    );
  }
}

/** The alert owner the caller reads: the provider (null) for provider roles on request, else the active tenant. */
export function alertTenant(ctx: GatewayContext, provider: boolean): string | null {
  if (provider) {
    ctx.services.authz.assert(ctx.auth, 'audit.readProvider', null);
    return null;
  }
  return ctx.services.authz.tenantScope(ctx.auth, 'alert.read').tenantId;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

@Resolver(() => Resource)
export class ResourceFieldsResolver {
  @FieldResolver(() => [Task], { description: 'The latest tasks of this guest' })
  async tasks(@Root() resource: Resource, @Ctx() ctx: GatewayContext): Promise<Task[]> {
    return (await ctx.loaders.tasksByGuest.load(resource.rowId)).map(toTask);
  }

  @FieldResolver(() => Tenant, { nullable: true })
  async tenant(@Root() resource: Resource, @Ctx() ctx: GatewayContext): Promise<Tenant | null> {
    if (!resource.tenantRowId) return null;
    const row = await ctx.loaders.tenantById.load(resource.tenantRowId);
    return row ? toTenant(row) : null;
  }
}

@Resolver()
export class AuthResolver {
  @Mutation(() => LoginPayload, { description: 'Local portal login; returns an opaque session token' })
  async login(
    @Arg('username', () => String) username: string,
    @Arg('password', () => String) password: string,
    @Ctx() ctx: GatewayContext,
  ): Promise<LoginPayload> {
    if (username.length > 200 || password.length > 1024) throw AppError.badInput('Credentials too long');
    const res = await ctx.services.authn.login(username, password, ctx);
    return Object.assign(new LoginPayload(), res);
  }

  @Mutation(() => Boolean, { description: 'Revokes the current session' })
  async logout(@Ctx() ctx: GatewayContext): Promise<boolean> {
    await ctx.services.authn.logout(ctx.services.authz.requirePrincipal(ctx.auth), ctx);
    return true;
  }

  @Mutation(() => ApiTokenPayload, {
    description: 'A portal API token with a subset of your privileges (null: all of them)',
  })
  async createApiToken(
    @Arg('name', () => String) name: string,
    @Ctx() ctx: GatewayContext,
    @Arg('privileges', () => [String], { nullable: true }) privileges?: string[],
    @Arg('expiresAt', () => GraphQLDateTimeISO, { nullable: true }) expiresAt?: Date,
  ): Promise<ApiTokenPayload> {
    const p = ctx.services.authz.requirePrincipal(ctx.auth);
    const res = await ctx.services.authn.createApiToken(
      ctx.em,
      p,
      { name, privileges: privileges ?? null, expiresAt: expiresAt ?? null },
      ctx,
    );
    return Object.assign(new ApiTokenPayload(), { ...res, id: toGlobalId('ApiToken', res.id) });
  }

  @Mutation(() => Boolean)
  async revokeApiToken(@Arg('id', () => ID) id: string, @Ctx() ctx: GatewayContext): Promise<boolean> {
    const p = ctx.services.authz.requirePrincipal(ctx.auth);
    const g = fromGlobalId(id);
    if (g?.type !== 'ApiToken' || !UUID.test(g.key)) throw await notFound(ctx, 'ApiToken', id);
    await ctx.services.authn.revokeOrRotateApiToken(ctx.em, p, g.key, false, ctx);
    return true;
  }

  @Mutation(() => ApiTokenPayload, { description: 'Replaces the secret of an API token; the old one stops working' })
  async rotateApiToken(@Arg('id', () => ID) id: string, @Ctx() ctx: GatewayContext): Promise<ApiTokenPayload> {
    const p = ctx.services.authz.requirePrincipal(ctx.auth);
    const g = fromGlobalId(id);
    if (g?.type !== 'ApiToken' || !UUID.test(g.key)) throw await notFound(ctx, 'ApiToken', id);
    const token = await ctx.services.authn.revokeOrRotateApiToken(ctx.em, p, g.key, true, ctx);
    return Object.assign(new ApiTokenPayload(), { id, tokenId: p.username, token: token! });
  }
}
