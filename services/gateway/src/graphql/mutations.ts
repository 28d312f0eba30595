import { AppError } from '@tenantgate/shared';
import type { GatewayContext } from './context.ts';
import { notFound } from './denials.ts';
import { toAlert, toResource, toTenant } from './mappers.ts';
import type { PvePowerAction } from '@tenantgate/pve-client';
import { POWER_ACTIONS } from '../data/power.ts';
import { alertTenant, keyOf } from './resolvers.ts';
import type { Alert, Resource, Tenant } from './types.ts';

/** The audit actor of the request's principal. */
export function actorOf(ctx: GatewayContext) {
  const p = ctx.services.authz.requirePrincipal(ctx.auth);
  return {
    type: p.credential.kind === 'token' ? ('portal-token' as const) : ('portal-user' as const),
    id: p.userId,
    principal: p.credential.kind === 'token' ? `${p.username}!${p.credential.tokenName}` : p.username,
  };
}

type AlertTarget = 'acknowledged' | 'resolved' | 'silenced';

/** Alert lifecycle: the alert_event row and the portal audit event commit in one transaction. */
async function transitionAlert(ctx: GatewayContext, id: string, to: AlertTarget, note: string | null): Promise<Alert> {
  const tenantId = alertTenant(ctx, false);
  ctx.services.authz.assert(ctx.auth, 'alert.manage', tenantId);
  const alertId = keyOf(id, 'Alert');
  const actor = actorOf(ctx);
  const done = alertId
    ? await ctx.em.fork().transactional(async (tx) => {
        const res = await ctx.services.alerts.transition(tx, tenantId, alertId, to, actor.id, note);
        if (!res) return null;
        if (res.from === 'resolved') throw AppError.conflict('The alert is resolved');
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

export const AlertMutations = {
  acknowledgeAlert: (_: unknown, a: { id: string; note?: string | null }, ctx: GatewayContext) =>
    transitionAlert(ctx, a.id, 'acknowledged', a.note ?? null),
  resolveAlert: (_: unknown, a: { id: string; note?: string | null }, ctx: GatewayContext) =>
    transitionAlert(ctx, a.id, 'resolved', a.note ?? null),
  silenceAlert: (_: unknown, a: { id: string; note?: string | null }, ctx: GatewayContext) =>
    transitionAlert(ctx, a.id, 'silenced', a.note ?? null),
};

/** Tenant lifecycle (Portal Admin). */
export const TenantMutations = {
  async createTenant(_: unknown, { slug, name }: { slug: string; name: string }, ctx: GatewayContext): Promise<Tenant> {
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
  },

  async updateTenant(
    _: unknown,
    args: { id: string; name?: string | null; locked?: boolean | null },
    ctx: GatewayContext,
  ): Promise<Tenant> {
    ctx.services.authz.assert(ctx.auth, 'provider.manage', null);
    if (args.name !== undefined && args.name !== null && (args.name.length < 1 || args.name.length > 200))
      throw AppError.badInput('name must be 1..200 characters');
    const tenantId = keyOf(args.id, 'Tenant');
    const row = tenantId
      ? await ctx.em.fork().transactional(async (tx) => {
          const t = await ctx.services.tenants.update(tx, tenantId, {
            name: args.name ?? null,
            locked: args.locked ?? null,
          });
          if (!t) return null;
          await ctx.services.audit.record(tx, ctx, {
            action:
              args.locked === true ? 'tenant.locked' : args.locked === false ? 'tenant.unlocked' : 'tenant.updated',
            outcome: 'success',
            actor: actorOf(ctx),
            tenantIds: [t.id],
            target: { type: 'tenant', id: t.id, name: t.slug },
            payload: { name: args.name ?? null, locked: args.locked ?? null },
          });
          return t;
        })
      : null;
    if (!row) throw await notFound(ctx, 'Tenant', args.id);
    await ctx.services.audit.wake(ctx.requestId);
    return toTenant(row);
  },

  async deleteTenant(_: unknown, { id }: { id: string }, ctx: GatewayContext): Promise<boolean> {
    ctx.services.authz.assert(ctx.auth, 'provider.manage', null);
    const tenantId = keyOf(id, 'Tenant');
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
  },
};

/** Power actions (Tenant User with VM.PowerMgmt, Tenant Admin, Portal Admin). */
export const PowerMutations = {
  async powerAction(
    _: unknown,
    args: { resourceId: string; action: PvePowerAction },
    ctx: GatewayContext,
  ): Promise<{ upid: string; requestId: string; resource: Resource }> {
    const scope = ctx.services.authz.tenantScope(ctx.auth, 'resource.power');
    if (!(POWER_ACTIONS as readonly string[]).includes(args.action)) throw AppError.badInput('Unknown power action');
    const guestId = keyOf(args.resourceId, 'Guest');
    const [guest] = guestId ? await ctx.services.resources.byIds(ctx.em, scope, [guestId]) : [];
    if (!guest) throw await notFound(ctx, 'Resource', args.resourceId);
    const actor = actorOf(ctx);
    const upid = await ctx.services.power.run(
      scope,
      guest,
      args.action,
      { userId: actor.id, principal: actor.principal, actorType: actor.type },
      ctx,
    );
    await ctx.services.taskFeed.notify(scope.tenantId);
    return { upid, requestId: ctx.requestId, resource: toResource(guest) };
  },
};
