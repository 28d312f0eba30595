import { Arg, Ctx, ID, Mutation, Resolver } from 'type-graphql';
import { AppError } from '@tenantgate/shared';
import type { GatewayContext } from './context.ts';
import { notFound } from './denials.ts';
import { toAlert, toTenant } from './mappers.ts';
import { fromGlobalId, uuidOf } from './relay.ts';
import { Alert, Tenant } from './types.ts';
import { alertTenant } from './resolvers.ts';

function actorOf(ctx: GatewayContext) {
  const p = ctx.services.authz.requirePrincipal(ctx.auth);
  return {
    type: p.credential.kind === 'token' ? ('portal-token' as const) : ('portal-user' as const),
    id: p.userId,
    principal: p.username,
  };
}

/** Alert lifecycle: every transition is an alert_event row plus a portal audit event, in one transaction. */
@Resolver()
export class AlertMutationResolver {
  @Mutation(() => Alert)
  async acknowledgeAlert(
    @Arg('id', () => ID) id: string,
    @Ctx() ctx: GatewayContext,
    @Arg('note', () => String, { nullable: true }) note?: string,
  ): Promise<Alert> {
    return await this.#transition(ctx, id, 'acknowledged', note ?? null);
  }

  @Mutation(() => Alert)
  async resolveAlert(
    @Arg('id', () => ID) id: string,
    @Ctx() ctx: GatewayContext,
    @Arg('note', () => String, { nullable: true }) note?: string,
  ): Promise<Alert> {
    return await this.#transition(ctx, id, 'resolved', note ?? null);
  }

  @Mutation(() => Alert)
  async silenceAlert(
    @Arg('id', () => ID) id: string,
    @Ctx() ctx: GatewayContext,
    @Arg('note', () => String, { nullable: true }) note?: string,
  ): Promise<Alert> {
    return await this.#transition(ctx, id, 'silenced', note ?? null);
  }

  async #transition(
    ctx: GatewayContext,
    id: string,
    to: 'acknowledged' | 'resolved' | 'silenced',
    note: string | null,
  ): Promise<Alert> {
    const tenantId = alertTenant(ctx, false);
    ctx.services.authz.assert(ctx.auth, 'alert.manage', tenantId);
    const g = fromGlobalId(id);
    const alertId = g?.type === 'Alert' && UUID.test(g.key) ? g.key : null;
    const actor = actorOf(ctx);
    const done = alertId
      ? await ctx.em.fork().transactional(async (tx) => {
          const res = await ctx.services.alerts.transition(tx, tenantId, alertId, to, actor.id, note);
          if (!res) return null;
          if (res.from === 'resolved' && to !== 'resolved') throw AppError.conflict('The alert is resolved');
          await ctx.services.audit.record(tx, ctx, {
            action: `alert.${to}`,
            outcome: 'success',
            actor,
            tenantIds: tenantId ? [tenantId] : [],
            target: { type: 'alert', id: alertId },
            payload: { from: res.from, to, note, alertEventId: res.eventId },
          });
          return res;
        })
      : null;
    if (!done) throw await notFound(ctx, 'Alert', id);
    await ctx.services.audit.wake(ctx.requestId);
    const row = await ctx.services.alerts.byId(ctx.em.fork(), tenantId, alertId!);
    return toAlert(row!);
  }
}

/** Tenant lifecycle (Portal Admin). */
@Resolver()
export class TenantMutationResolver {
  @Mutation(() => Tenant)
  async createTenant(
    @Arg('slug', () => String) slug: string,
    @Arg('name', () => String) name: string,
    @Ctx() ctx: GatewayContext,
  ): Promise<Tenant> {
    ctx.services.authz.assert(ctx.auth, 'provider.manage', null);
    if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(slug)) throw AppError.badInput('slug must match ^[a-z0-9][a-z0-9-]{0,62}$');
    if (name.length < 1 || name.length > 200) throw AppError.badInput('name must be 1..200 characters');
    const row = await ctx.em.fork().transactional(async (tx) => {
      const t = await ctx.services.tenants.create(tx, slug, name);
      if (!t) throw AppError.conflict('A tenant with this slug exists');
      await ctx.services.audit.record(tx, ctx, {
        action: 'tenant.created',
        outcome: 'success',
        actor: actorOf(ctx),
        tenantIds: [t.id],
        target: { type: 'tenant', id: t.id, name: slug },
      });
      return t;
    });
    await ctx.services.audit.wake(ctx.requestId);
    return toTenant(row);
  }

  @Mutation(() => Tenant)
  async updateTenant(
    @Arg('id', () => ID) id: string,
    @Ctx() ctx: GatewayContext,
    @Arg('name', () => String, { nullable: true }) name?: string,
    @Arg('locked', () => Boolean, { nullable: true }) locked?: boolean,
  ): Promise<Tenant> {
    ctx.services.authz.assert(ctx.auth, 'provider.manage', null);
    const tenantId = uuidOrNull(id, 'Tenant');
    const row = tenantId
      ? await ctx.em.fork().transactional(async (tx) => {
          const t = await ctx.services.tenants.update(tx, tenantId, { name: name ?? null, locked: locked ?? null });
          if (!t) return null;
          await ctx.services.audit.record(tx, ctx, {
            action: locked === true ? 'tenant.locked' : locked === false ? 'tenant.unlocked' : 'tenant.updated',
            outcome: 'success',
            actor: actorOf(ctx),
            tenantIds: [t.id],
            target: { type: 'tenant', id: t.id, name: t.slug },
            payload: { name: name ?? null, locked: locked ?? null },
          });
          return t;
        })
      : null;
    if (!row) throw await notFound(ctx, 'Tenant', id);
    await ctx.services.audit.wake(ctx.requestId);
    return toTenant(row);
  }

  @Mutation(() => Boolean, { description: 'Soft-deletes a tenant (its audit chain is kept)' })
  async deleteTenant(@Arg('id', () => ID) id: string, @Ctx() ctx: GatewayContext): Promise<boolean> {
    ctx.services.authz.assert(ctx.auth, 'provider.manage', null);
    const tenantId = uuidOrNull(id, 'Tenant');
    const ok = tenantId
      ? await ctx.em.fork().transactional(async (tx) => {
          if (!(await ctx.services.tenants.softDelete(tx, tenantId))) return false;
          await ctx.services.audit.record(tx, ctx, {
            action: 'tenant.deleted',
            outcome: 'success',
            actor: actorOf(ctx),
            tenantIds: [tenantId],
            target: { type: 'tenant', id: tenantId },
          });
          return true;
        })
      : false;
    if (!ok) throw await notFound(ctx, 'Tenant', id);
    await ctx.services.audit.wake(ctx.requestId);
    return true;
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function uuidOrNull(id: string, type: 'Tenant'): string | null {
  try {
    return uuidOf(id, type);
  } catch {
    return null;
  }
}
