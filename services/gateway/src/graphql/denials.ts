import { AppError } from '@tenantgate/shared';
import type { GatewayContext } from './context.ts';
import { storableText } from './input-strings.ts';

/**
 * Records a refused access (foreign or nonexistent id, forbidden operation) as a portal audit
 * event, then returns the error to throw. Foreign and nonexistent ids get the same NOT_FOUND.
 */
export async function denied(
  ctx: GatewayContext,
  error: AppError,
  target: { type: string; id: string },
): Promise<AppError> {
  const p = ctx.auth.principal;
  try {
    await ctx.em.fork().transactional(async (tx) => {
      await ctx.services.audit.record(tx, ctx, {
        action: error.code === 'NOT_FOUND' ? 'access.not_found' : 'access.denied',
        outcome: 'failure',
        actor: p
          ? {
              type: p.credential.kind === 'token' ? 'portal-token' : 'portal-user',
              id: p.userId,
              principal: p.username,
            }
          : { type: 'unknown', id: null },
        tenantIds: ctx.auth.activeTenantId ? [ctx.auth.activeTenantId] : [],
        // an empty id is still an attempt: keep the contract's non-empty target id
        target: { type: target.type, id: storableText(target.id, 200) || '(empty)' },
        payload: { code: error.code },
      });
    });
    await ctx.services.audit.wake(ctx.requestId);
  } catch (err) {
    ctx.logger.error({ err }, 'could not audit a refused access');
  }
  return error;
}

export async function notFound(ctx: GatewayContext, kind: string, id: string): Promise<AppError> {
  return await denied(ctx, AppError.notFound(kind), { type: kind, id });
}
