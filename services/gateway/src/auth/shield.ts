import type { GraphQLSchema } from 'graphql';
import { allow, deny, or, rule, shield } from 'graphql-shield';
import type { IMiddleware } from 'graphql-middleware';
import { applyMiddleware } from 'graphql-middleware';
import { AppError } from '@tenantgate/shared';
import type { GatewayContext } from '../graphql/context.ts';
import type { Action } from './authorization.ts';

// Shield rules on the operation root fields, each a question to the one authorization service.
// Object fields carry no rules: they are reachable only through an authorized root field, and their
// data is tenant-scoped in SQL (STACK.md: a rule on every leaf makes every field async).

const isAuthenticated = rule({ cache: 'contextual' })((_p, _a, ctx: GatewayContext) =>
  ctx.auth.principal ? true : AppError.unauthenticated(),
);

/** The active tenant allows `action` (errors say why: no tenant selected, not a member, not allowed). */
const memo = new Map<string, ReturnType<typeof rule>>();
/** One rule object per name: shield refuses two different rules with the same name. */
function once<R extends ReturnType<ReturnType<typeof rule>>>(name: string, make: () => R): R {
  let r = memo.get(name) as R | undefined;
  if (!r) {
    r = make();
    memo.set(name, r as never);
  }
  return r;
}

const canInTenant = (action: Action) =>
  once(`can:${action}`, () =>
    rule(`can:${action}`, { cache: 'contextual' })((_p, _a, ctx: GatewayContext) => {
      try {
        ctx.services.authz.tenantScope(ctx.auth, action);
        return true;
      } catch (err) {
        return err as Error;
      }
    }),
  );

const can = (action: Action) =>
  once(`global:${action}`, () =>
    rule(`global:${action}`, { cache: 'contextual' })((_p, _a, ctx: GatewayContext) => {
      if (!ctx.auth.principal) return AppError.unauthenticated();
      return ctx.services.authz.can(ctx.auth, action, null) ? true : AppError.forbidden();
    }),
  );

/** Reads that can target the provider chain: the `provider` flag selects the rule. */
const providerOr = (action: Action) =>
  once(`providerOr:${action}`, () =>
    rule(`providerOr:${action}`, { cache: 'strict' })(
      (_p, args: { filter?: { provider?: boolean | null } | null }, ctx: GatewayContext) => {
        if (!ctx.auth.principal) return AppError.unauthenticated();
        if (args.filter?.provider)
          return ctx.services.authz.can(ctx.auth, 'audit.readProvider', null) ? true : AppError.forbidden();
        try {
          ctx.services.authz.tenantScope(ctx.auth, action);
          return true;
        } catch (err) {
          return err as Error;
        }
      },
    ),
  );

export const permissions = {
  Query: {
    me: isAuthenticated,
    tenants: isAuthenticated,
    tenant: isAuthenticated,
    node: isAuthenticated,
    connections: or(can('provider.read'), canInTenant('tenant.manage')),
    resources: canInTenant('resource.read'),
    resource: canInTenant('resource.read'),
    tasks: canInTenant('resource.read'),
    auditLog: providerOr('audit.read'),
    alerts: providerOr('alert.read'),
    alert: canInTenant('alert.read'),
    alertRules: canInTenant('alert.read'),
    auditExport: providerOr('audit.export'),
    accessReview: canInTenant('access.review'),
    members: canInTenant('tenant.manage'),
    hygieneFindings: can('provider.read'),
  },
  Mutation: {
    login: allow,
    logout: isAuthenticated,
    createApiToken: isAuthenticated,
    revokeApiToken: isAuthenticated,
    rotateApiToken: isAuthenticated,
    acknowledgeAlert: canInTenant('alert.manage'),
    resolveAlert: canInTenant('alert.manage'),
    silenceAlert: canInTenant('alert.manage'),
    powerAction: canInTenant('resource.power'),
    createTenant: can('provider.manage'),
    addConnection: can('provider.manage'),
    updateConnection: can('provider.manage'),
    removeConnection: can('provider.manage'),
    assign: can('provider.manage'),
    unassign: can('provider.manage'),
    setMembership: canInTenant('tenant.manage'),
    createAlertRule: canInTenant('alert.manage'),
    updateAlertRule: canInTenant('alert.manage'),
    deleteAlertRule: canInTenant('alert.manage'),
    removeMembership: canInTenant('tenant.manage'),
    updateTenant: can('provider.manage'),
    deleteTenant: can('provider.manage'),
  },
  Subscription: {
    alertStream: providerOr('alert.read'),
    taskUpdates: canInTenant('resource.read'),
  },
};

const ROOTS = ['Query', 'Mutation', 'Subscription'] as const;

/** Applies the rules to the root operation types only; unknown root fields fall back to deny. */
export function applyShield(schema: GraphQLSchema): GraphQLSchema {
  const generator = shield(permissions, {
    fallbackRule: deny,
    allowExternalErrors: true,
    fallbackError: () => AppError.forbidden(),
    debug: false,
  });
  const all = generator.generate(schema) as Record<string, unknown>;
  const rootOnly: Record<string, unknown> = {};
  for (const root of ROOTS) if (all[root]) rootOnly[root] = all[root];
  return applyMiddleware(schema, rootOnly as IMiddleware);
}
