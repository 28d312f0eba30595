// @tenantgate/gateway — the reviewed public surface (used by the benchmark and end-to-end tests).
export { createGatewayApp, type GatewayApp, type GatewayAppOptions, type GatewayDeps } from './app.ts';
export { createAuditWakeupQueue } from './queues.ts';
export { GatewayConfigSchema, loadConfig, type GatewayConfig } from './config.ts';
export { Authorization, TenantScope, Privilege, type Action } from './auth/authorization.ts';
export type { Principal, RequestAuth, MembershipGrant } from './auth/principal.ts';
export { toGlobalId, fromGlobalId } from './graphql/relay.ts';
