import { AppError, type AlertNotification } from '@tenantgate/shared';
import type { GatewayContext } from './context.ts';
import type { AlertFilter } from './types.ts';
import { alertTenant } from './resolvers.ts';
import { isTaskCursor, type TaskUpdate } from '../subscriptions/task-feed.ts';
import { toTask } from './mappers.ts';
import { toGlobalId } from './relay.ts';

const severityRank: Record<string, number> = { info: 0, low: 1, medium: 2, high: 3, critical: 4 };

/**
 * graphql-shield wraps `resolve`, not `subscribe`: the authorization service is asked here, at
 * subscribe time (and the connection was authenticated in graphql-ws `onConnect`).
 */
function subscribeAlerts(
  _: unknown,
  args: { after?: string | null; filter?: AlertFilter | null },
  ctx: GatewayContext,
): AsyncIterable<AlertNotification> {
  const tenantId = alertTenant(ctx, args.filter?.provider ?? false);
  const after = args.after ?? null;
  if (after !== null && !/^\d{1,18}$/.test(after)) throw AppError.badInput('after must be an alert cursor');
  const minSeverity = args.filter?.severity ? (severityRank[args.filter.severity] ?? 0) : 0;
  const state = args.filter?.state ?? null;
  return ctx.services.alertFeed.stream(
    tenantId,
    after,
    (n) => (severityRank[n.severity] ?? 0) >= minSeverity && (state === null || n.state === state),
  );
}

function subscribeTasks(_: unknown, args: { after?: string | null }, ctx: GatewayContext): AsyncIterable<TaskUpdate> {
  const scope = ctx.services.authz.tenantScope(ctx.auth, 'resource.read');
  if (args.after && !isTaskCursor(args.after)) throw AppError.badInput('after must be a taskUpdates cursor');
  return ctx.services.taskFeed.stream(scope, args.after ?? null);
}

export const Subscription = {
  taskUpdates: {
    subscribe: subscribeTasks,
    resolve: (u: TaskUpdate) => ({
      cursor: u.cursor,
      task: toTask(u.task),
      resourceId: toGlobalId('Guest', u.task.guest_id),
    }),
  },
  alertStream: {
    subscribe: subscribeAlerts,
    resolve: (n: AlertNotification) => ({ ...n, at: new Date(n.at) }),
  },
};
