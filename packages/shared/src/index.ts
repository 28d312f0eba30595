// @tenantgate/shared — the reviewed public surface. Nothing else is imported from this package.
export { AppError, ErrorCode, isAppError } from './errors/app-error.ts';
export { ConfigError } from './errors/config-error.ts';
export { parseConfig, envFields, type Env } from './config/config.ts';
export { createLogger, warnRateLimited, type Logger } from './logger.ts';
export { encryptSecret, decryptSecret, sha256 } from './crypto.ts';
export { createOrm, migrateDatabase, type Orm, type Em, type OrmOptions } from './db/orm.ts';
export * from './db/entities.ts';
export {
  AuditSourceEvent,
  type AuditSourceEventInput,
  AuditWakeupJob,
  SyncPollJob,
  AlertNotification,
  AlertState,
  Severity,
  Outcome,
  Detection,
  EventSource,
  Actor,
  Target,
  GuestRef,
  parseContract,
} from './contracts.ts';
export { hashPassword, verifyPassword } from './passwords.ts';
export { Shutdown, type Resource } from './lifecycle.ts';
export { QueueName, alertChannel, taskChannel, jobId } from './queues.ts';
