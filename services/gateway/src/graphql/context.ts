import DataLoader from 'dataloader';
import type { Em, Logger } from '@tenantgate/shared';
import type { RequestAuth } from '../auth/principal.ts';
import type { GatewayServices } from '../services.ts';
import type { TaskRow } from '../data/tasks.ts';
import type { TenantRow } from '../data/tenants.ts';

/** Tasks shown per guest when listing resources. */
export const TASKS_PER_GUEST = 5;

export interface Loaders {
  /** Latest tasks of a guest (tenant-scoped in SQL). */
  tasksByGuest: DataLoader<string, TaskRow[]>;
  /** Tenants the caller may see, by id (others resolve to null). */
  tenantById: DataLoader<string, TenantRow | null>;
}

/** Everything request-scoped: nothing here outlives the request (STYLE.md principle 7). */
export interface GatewayContext {
  requestId: string;
  srcIp: string | null;
  em: Em;
  auth: RequestAuth;
  services: GatewayServices;
  loaders: Loaders;
  logger: Logger;
  /**
   * Open streams only (graphql-ws): authenticates the connection's credential again, for the
   * re-authorization of subscriptions; null for HTTP requests.
   */
  recheckAuth: (() => Promise<RequestAuth>) | null;
  /** Benchmark baseline only: no tenant predicate in SQL (set by createGatewayApp's `bare` mode). */
  unscoped: boolean;
}

export function createLoaders(ctx: Omit<GatewayContext, 'loaders'>): Loaders {
  const { services, em, auth } = ctx;
  return {
    tasksByGuest: new DataLoader<string, TaskRow[]>(async (guestIds) => {
      const scope = ctx.unscoped ? 'unscoped' : services.authz.tenantScope(auth, 'resource.read');
      const byGuest = await services.tasks.latestByGuests(em, scope, guestIds, TASKS_PER_GUEST);
      return guestIds.map((id) => byGuest.get(id) ?? []);
    }),
    tenantById: new DataLoader<string, TenantRow | null>(async (ids) => {
      const visible = ids.filter(
        (id) => ctx.unscoped || services.authz.can(auth, 'alert.read', id) || services.authz.can(auth, 'provider.read'),
      );
      const rows = visible.length ? await services.tenants.byIds(em, visible) : [];
      const byId = new Map(rows.map((r) => [r.id, r]));
      return ids.map((id) => byId.get(id) ?? null);
    }),
  };
}
