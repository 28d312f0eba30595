// Composition root of pve-sync: config → logger → ORM → Redis → SyncService (queues, worker).
import './memory.ts';
import { Redis } from 'ioredis';
import { Shutdown, createLogger, createOrm, warnRateLimited } from '@tenantgate/shared';
import { loadSyncConfig } from './config.ts';
import { pveClientFactory } from './client-factory.ts';
import { SyncService } from './sync-service.ts';

const config = loadSyncConfig();
const logger = createLogger('pve-sync', config.LOG_LEVEL);
const shutdown = new Shutdown(logger);
shutdown.installSignalHandlers();

try {
  const orm = await createOrm({ databaseUrl: config.DATABASE_URL, poolMax: config.DB_POOL_MAX, logger });
  shutdown.defer('orm', () => orm.close(true));
  const redis = new Redis(config.REDIS_URL, { maxRetriesPerRequest: null });
  // ioredis errs on every reconnect attempt.
  redis.on('error', warnRateLimited(logger, 'redis error (retrying)'));
  shutdown.defer('redis', async () => {
    await redis.quit().catch(() => redis.disconnect());
  });
  const service = new SyncService({
    orm,
    redis,
    logger,
    credentialsKey: config.CREDENTIALS_KEY,
    clientFactory: pveClientFactory({
      timeoutMs: config.PVE_TIMEOUT_MS,
      retries: config.PVE_RETRIES,
      concurrency: config.PVE_CONCURRENCY,
      logger,
    }),
    queuePrefix: config.QUEUE_PREFIX,
    pollConcurrency: config.POLL_CONCURRENCY,
    reconcileIntervalMs: config.RECONCILE_INTERVAL_MS,
    backoffMaxMs: config.BACKOFF_MAX_MS,
    settings: config,
  });
  shutdown.add({ name: 'sync-service', stop: () => service.stop() });
  await service.start();
  logger.info({ prefix: config.QUEUE_PREFIX }, 'pve-sync started');
} catch (err) {
  logger.fatal({ err }, 'pve-sync failed to start');
  await shutdown.shutdown('startup failure');
  process.exitCode = 1;
}
