import type { KeyObject } from 'node:crypto';
import type { Orm, Logger } from '@tenantgate/shared';
import type { AuditBundleRepository } from './data/audit-bundle.ts';
import type { Authentication } from './auth/authentication.ts';
import type { Authorization } from './auth/authorization.ts';
import type { PortalAudit } from './data/portal-audit.ts';
import type { ResourceRepository } from './data/resources.ts';
import type { TaskRepository } from './data/tasks.ts';
import type { AuditLogRepository } from './data/audit-log.ts';
import type { AlertRepository } from './data/alerts.ts';
import type { TenantRepository } from './data/tenants.ts';
import type { AlertFeed } from './subscriptions/alert-feed.ts';
import type { PowerActions } from './data/power.ts';
import type { TaskFeed } from './subscriptions/task-feed.ts';

/** The process-wide services the resolvers use; built once by createGatewayApp. */
export interface GatewayServices {
  orm: Orm;
  logger: Logger;
  authn: Authentication;
  authz: Authorization;
  audit: PortalAudit;
  resources: ResourceRepository;
  tasks: TaskRepository;
  auditLog: AuditLogRepository;
  auditBundles: AuditBundleRepository;
  /** Keys that verify checkpoint signatures (AUDIT_PUBLIC_KEYS); exported bundles carry the used ones. */
  auditPublicKeys: readonly KeyObject[];
  alerts: AlertRepository;
  tenants: TenantRepository;
  alertFeed: AlertFeed;
  power: PowerActions;
  taskFeed: TaskFeed;
  maxPageSize: number;
  /** How often open subscriptions ask the authorization service again (also before each event). */
  subscriptionRecheckMs: number;
  credentialsKey: Buffer;
}
