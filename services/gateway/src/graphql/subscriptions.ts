import { AppError, isAppError, type AlertNotification } from '@tenantgate/shared';
import type { GatewayContext } from './context.ts';
import type { AlertFilter } from './types.ts';
import { alertTenant } from './resolvers.ts';
import { isTaskCursor, type TaskUpdate } from '../subscriptions/task-feed.ts';
import { toTask } from './mappers.ts';
import { toGlobalId } from './relay.ts';
import { isRevoked, reauthorized, type AccessCheck, type Revoked } from '../subscriptions/reauthorize.ts';
import { retryTransient } from '../subscriptions/transient.ts';

/**
 * The stream's authorization decision, asked again with freshly authenticated credentials:
 * `decide` is the same call the subscription made at subscribe time.
 */
function accessCheck(ctx: GatewayContext, decide: (fresh: GatewayContext) => unknown): AccessCheck {
  const recheckAuth = ctx.recheckAuth;
  return async () => {
    if (!recheckAuth) return null;
    try {
      // A Postgres restart is waited out (no event is delivered until access is confirmed).
      const auth = await retryTransient(recheckAuth, { logger: ctx.logger, what: 'subscription re-authorization' });
      if (!auth.principal) return AppError.unauthenticated();
      decide({ ...ctx, auth });
      return null;
    } catch (err) {
      if (isAppError(err)) return err;
      throw err;
    }
  };
}

/** The last item of a withdrawn stream becomes its error (the client sees the code, then complete). */
function unlessRevoked<T>(v: T | Revoked): T {
  if (isRevoked(v)) throw v.revoked;
  return v;
}

const severityRank: Record<string, number> = { info: 0, low: 1, medium: 2, high: 3, critical: 4 };

/**
 * graphql-shield wraps `resolve`, not `subscribe`: the authorization service is asked here, at
 * subscribe time (and the connection was authenticated in graphql-ws `onConnect`).
 */
function subscribeAlerts(
  _: unknown,
  args: { after?: string | null; filter?: AlertFilter | null },
  ctx: GatewayContext,
): AsyncIterable<AlertNotification | Revoked> {
  const provider = args.filter?.provider ?? false;
  const tenantId = alertTenant(ctx, provider);
  const after = args.after ?? null;
  if (after !== null && !/^\d{1,18}$/.test(after)) throw AppError.badInput('after must be an alert cursor');
  const minSeverity = args.filter?.severity ? (severityRank[args.filter.severity] ?? 0) : 0;
  const state = args.filter?.state ?? null;
  const stream = ctx.services.alertFeed.stream(
    tenantId,
    after,
    (n) => (severityRank[n.severity] ?? 0) >= minSeverity && (state === null || n.state === state),
  );
  const check = accessCheck(ctx, (fresh) => {
    if (alertTenant(fresh, provider) !== tenantId) throw AppError.forbidden();
  });
  return reauthorized(stream, check, ctx.services.subscriptionRecheckMs);
}

function subscribeTasks(
  _: unknown,
  args: { after?: string | null },
  ctx: GatewayContext,
): AsyncIterable<TaskUpdate | Revoked> {
  const scope = ctx.services.authz.tenantScope(ctx.auth, 'resource.read');
  if (args.after && !isTaskCursor(args.after)) throw AppError.badInput('after must be a taskUpdates cursor');
  const check = accessCheck(ctx, (fresh) => {
    if (fresh.services.authz.tenantScope(fresh.auth, 'resource.read').tenantId !== scope.tenantId)
      throw AppError.forbidden();
  });
  return reauthorized(
    ctx.services.taskFeed.stream(scope, args.after ?? null),
    check,
    ctx.services.subscriptionRecheckMs,
  );
}

export const Subscription = {
  taskUpdates: {
    subscribe: subscribeTasks,
    resolve: (update: TaskUpdate | Revoked) => {
      const u = unlessRevoked(update);
      return {
        cursor: u.cursor,
        task: toTask(u.task),
        resourceId: toGlobalId('Guest', u.task.guest_id),
      };
    },
  },
  alertStream: {
    subscribe: subscribeAlerts,
    resolve: (notification: AlertNotification | Revoked) => {
      const n = unlessRevoked(notification);
      return { ...n, at: new Date(n.at) };
    },
  },
};
