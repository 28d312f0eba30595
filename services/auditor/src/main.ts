// Composition root of the auditor: config → logger → ORM (pg pool) → Redis → service.
import { Redis } from 'ioredis';
import { loadSigningKey } from '@tenantgate/audit-core';
import { createLogger, createOrm, Shutdown, warnRateLimited } from '@tenantgate/shared';
import { loadConfig } from './config.ts';
import { poolOf } from './db.ts';
import { AuditorService } from './auditor.ts';

const config = loadConfig();
const logger = createLogger('auditor', config.LOG_LEVEL);
const shutdown = new Shutdown(logger);
shutdown.installSignalHandlers();

try {
  const signingKey = loadSigningKey(config.AUDIT_SIGNING_KEY);
  const orm = await createOrm({ databaseUrl: config.DATABASE_URL, poolMax: config.DB_POOL_MAX, logger });
  shutdown.defer('orm', () => orm.close(true));
  const db = await poolOf(orm);
  const redis = new Redis(config.REDIS_URL, { maxRetriesPerRequest: null, connectionName: 'auditor-publish' });
  shutdown.defer('redis', async () => void (await redis.quit()));
  const bullConnection = new Redis(config.REDIS_URL, { maxRetriesPerRequest: null, connectionName: 'auditor-worker' });
  shutdown.defer('redis-worker', async () => void (await bullConnection.quit()));
  // ioredis retries by itself; without a listener it prints "Unhandled error event" per attempt.
  for (const [name, client] of [
    ['redis', redis],
    ['redis-worker', bullConnection],
  ] as const) {
    client.on('error', warnRateLimited(logger, 'redis connection error (retrying)', { client: name }));
  }
  const auditor = shutdown.add(
    new AuditorService({
      db,
      redis,
      bullConnection,
      signingKey,
      logger,
      options: {
        queuePrefix: config.QUEUE_PREFIX,
        batchSize: config.BATCH_SIZE,
        checkpointEveryRecords: config.CHECKPOINT_EVERY_RECORDS,
        checkpointIntervalMs: config.CHECKPOINT_INTERVAL_MS,
        sweepIntervalMs: config.SWEEP_INTERVAL_MS,
        monitorIntervalMs: config.MONITOR_INTERVAL_MS,
        workerConcurrency: config.WORKER_CONCURRENCY,
        drainParallelism: config.DRAIN_PARALLELISM,
        poisonMaxAttempts: config.POISON_MAX_ATTEMPTS,
        poisonRetryDelayMs: config.POISON_RETRY_DELAY_MS,
        verifyIntervalMs: config.VERIFY_INTERVAL_MS,
        inboxRetentionMs: config.INBOX_RETENTION_HOURS * 3_600_000,
        inboxRetentionIntervalMs: config.INBOX_RETENTION_INTERVAL_MS,
        inboxRetentionBatch: config.INBOX_RETENTION_BATCH,
      },
    }),
  );
  await auditor.start();
} catch (err) {
  logger.fatal({ err }, 'auditor failed to start');
  await shutdown.shutdown('startup failure');
  process.exit(1);
}
