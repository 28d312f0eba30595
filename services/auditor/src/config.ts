// The auditor's configuration: parsed once, in main.ts, from the environment (ARCHITECTURE.md,
// "Auditor", lists every variable).
import { z } from 'zod';
import { envFields, parseConfig, type Env } from '@tenantgate/shared';

export const AuditorConfigSchema = z.object({
  DATABASE_URL: envFields.DATABASE_URL,
  REDIS_URL: envFields.REDIS_URL,
  QUEUE_PREFIX: envFields.QUEUE_PREFIX,
  LOG_LEVEL: envFields.LOG_LEVEL,
  /** Ed25519 private key: PKCS#8 PEM or base64 PKCS#8 DER. Never logged. */
  AUDIT_SIGNING_KEY: z.string().min(40, 'must be an Ed25519 private key (PKCS#8 PEM or base64 DER)'),
  CHECKPOINT_EVERY_RECORDS: envFields.positiveInt.default(1000),
  CHECKPOINT_INTERVAL_MS: envFields.positiveInt.default(300_000),
  SWEEP_INTERVAL_MS: envFields.positiveInt.default(5_000),
  MONITOR_INTERVAL_MS: envFields.positiveInt.default(15_000),
  BATCH_SIZE: envFields.positiveInt.max(5000).default(2000),
  WORKER_CONCURRENCY: envFields.positiveInt.max(16).default(1),
  /** Inbox batches in flight at once in this process (claims are disjoint; chains serialise appends). */
  DRAIN_PARALLELISM: envFields.positiveInt.max(8).default(2),
  DB_POOL_MAX: envFields.positiveInt.default(10),
  /** Failed attempts after which an inbox row is quarantined as an audit.invalid_event record. */
  POISON_MAX_ATTEMPTS: envFields.positiveInt.max(100).default(3),
  /** A failed inbox row is retried alone after this delay × its attempts so far. */
  POISON_RETRY_DELAY_MS: envFields.positiveInt.default(10_000),
  /** The service verifies every chain incrementally (from the last verified checkpoint) this often. */
  VERIFY_INTERVAL_MS: envFields.positiveInt.default(300_000),
  /** Processed inbox rows older than this are deleted (their events live on in the chains). */
  INBOX_RETENTION_HOURS: envFields.positiveInt.default(168),
  INBOX_RETENTION_INTERVAL_MS: envFields.positiveInt.default(3_600_000),
  /** Rows deleted per statement (each its own short transaction). */
  INBOX_RETENTION_BATCH: envFields.positiveInt.max(100_000).default(5000),
});
export type AuditorConfig = z.output<typeof AuditorConfigSchema>;

export function loadConfig(env: Env = process.env): AuditorConfig {
  return parseConfig(AuditorConfigSchema, env);
}
