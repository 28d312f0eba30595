import { Arg, Ctx, Resolver, Root, Subscription, type SubscribeResolverData } from 'type-graphql';
import { AppError, type AlertNotification } from '@tenantgate/shared';
import type { GatewayContext } from './context.ts';
import { AlertFilter, AlertNotificationType } from './types.ts';
import { alertTenant } from './resolvers.ts';

const severityRank: Record<string, number> = { info: 0, low: 1, medium: 2, high: 3, critical: 4 };

/**
 * graphql-shield wraps `resolve`, not `subscribe`: the authorization service is asked here, at
 * subscribe time (and the connection was authenticated in graphql-ws `onConnect`).
 */
function subscribeAlerts({
  args,
  context,
}: SubscribeResolverData<
  unknown,
  { after?: string | null; filter?: AlertFilter | null },
  GatewayContext
>): AsyncIterable<AlertNotification> {
  const tenantId = alertTenant(context, args.filter?.provider ?? false);
  const after = args.after ?? null;
  if (after !== null && !/^\d{1,19}$/.test(after)) throw AppError.badInput('after must be an alert cursor');
  const minSeverity = args.filter?.severity ? (severityRank[args.filter.severity] ?? 0) : 0;
  const state = args.filter?.state ?? null;
  return context.services.alertFeed.stream(
    tenantId,
    after,
    (n) => (severityRank[n.severity] ?? 0) >= minSeverity && (state === null || n.state === state),
  );
}

@Resolver()
export class SubscriptionResolver {
  @Subscription(() => AlertNotificationType, {
    subscribe: subscribeAlerts as never,
    description: 'Alert transitions of the active tenant: replay after `after` (an alert_event cursor), then live',
  })
  alertStream(
    @Root() n: AlertNotification,
    @Ctx() _ctx: GatewayContext,
    @Arg('after', () => String, { nullable: true }) _after?: string,
    @Arg('filter', () => AlertFilter, { nullable: true }) _filter?: AlertFilter,
  ): AlertNotificationType {
    return Object.assign(new AlertNotificationType(), { ...n, at: new Date(n.at) });
  }
}
