import { AppError, type AlertNotification } from '@tenantgate/shared';
import type { GatewayContext } from './context.ts';
import type { AlertFilter } from './types.ts';
import { alertTenant } from './resolvers.ts';

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

export const Subscription = {
  alertStream: {
    subscribe: subscribeAlerts,
    resolve: (n: AlertNotification) => ({ ...n, at: new Date(n.at) }),
  },
};
