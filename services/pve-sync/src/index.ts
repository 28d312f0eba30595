// @tenantgate/pve-sync — the reviewed public surface: the service (tests and the bench run it
// in-process), its config, connection management and the health read model for the gateway.
export { SyncService, type SyncServiceOptions, type ScheduledPollResult } from './sync-service.ts';
export { ConnectionPoller, type PollResult, type PollStatus, type PollerDeps } from './poller.ts';
export { SyncConfigSchema, loadSyncConfig, type SyncConfig } from './config.ts';
export { pveClientFactory, type PveClientFactory, type PveSession, type ClientSettings } from './client-factory.ts';
export {
  createConnection,
  listConnections,
  openConnection,
  type NewConnection,
  type ConnectionRow,
} from './connections.ts';
export { readSyncHealth, type ConnectionHealth, type SourceHealth } from './health.ts';
export { AuditWakeup, type WakeupQueue } from './wakeup.ts';
export { defaultSourceSettings, type SourceSettings, type SourceFailure } from './source-context.ts';
export type { PveApi } from './pve-api.ts';
