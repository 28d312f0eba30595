// pve-sync configuration: parsed once, in main.ts, from the environment (ARCHITECTURE.md, "pve-sync").
import { z } from 'zod';
import { envFields, parseConfig, type Env } from '@tenantgate/shared';

export const SyncConfigSchema = z.object({
  DATABASE_URL: envFields.DATABASE_URL,
  REDIS_URL: envFields.REDIS_URL,
  QUEUE_PREFIX: envFields.QUEUE_PREFIX,
  LOG_LEVEL: envFields.LOG_LEVEL,
  /** AES-256-GCM key (base64, 32 bytes) that seals pve_connection.secret_enc. */
  CREDENTIALS_KEY: envFields.key32,
  /** Connections polled at the same time by this process. */
  POLL_CONCURRENCY: envFields.positiveInt.default(4),
  /** Parallel HTTP requests per connection. */
  PVE_CONCURRENCY: envFields.positiveInt.default(8),
  PVE_TIMEOUT_MS: envFields.positiveInt.default(15_000),
  PVE_RETRIES: z.coerce.number().int().min(0).max(10).default(2),
  /** How often the job schedulers are re-synced with the pve_connection table. */
  RECONCILE_INTERVAL_MS: envFields.positiveInt.default(30_000),
  /** Upper bound of the back-off of a failing connection. */
  BACKOFF_MAX_MS: envFields.positiveInt.default(300_000),
  /** Node task lists are re-read this far behind the watermark, so late-registered tasks are not missed. */
  TASK_OVERLAP_S: z.coerce.number().int().min(0).max(3600).default(120),
  /** Page size of /nodes/{node}/tasks. */
  TASK_PAGE_SIZE: envFields.positiveInt.default(1000),
  /** Nodes whose task lists are written in one transaction. */
  TASK_NODE_BATCH: envFields.positiveInt.default(10),
  /** Entries requested from /cluster/log per poll (its ring buffer holds a few thousand). */
  CLUSTER_LOG_MAX: envFields.positiveInt.default(5000),
  /** Journal lines read per node on the first poll (no saved cursor yet). */
  JOURNAL_INITIAL_LINES: envFields.positiveInt.default(2000),
  /**
   * How long a task run by the connection's token on a guest with an open portal intent (no UPID
   * recorded yet) is held back for the gateway to record its UPID, before it is matched by window.
   */
  PORTAL_ATTRIBUTION_WAIT_S: z.coerce.number().int().min(0).max(3600).default(120),
  /** Database pool size of this process. */
  DB_POOL_MAX: envFields.positiveInt.default(10),
});
export type SyncConfig = z.output<typeof SyncConfigSchema>;

/** Parses `env` (the process environment by default; this module is the only reader). */
export function loadSyncConfig(env: Env = process.env): SyncConfig {
  return parseConfig(SyncConfigSchema, env);
}
