// The gateway's composition root: config → logger → ORM → Redis → queue → server.
import { Redis } from 'ioredis';
import { Shutdown, createLogger, createOrm, warnRateLimited } from '@tenantgate/shared';
import { createAuditWakeupQueue } from './queues.ts';
import { loadConfig } from './config.ts';
import { createGatewayApp } from './app.ts';

const config = loadConfig();
const logger = createLogger('gateway', config.LOG_LEVEL);
const shutdown = new Shutdown(logger);
shutdown.installSignalHandlers();

try {
  const orm = await createOrm({ databaseUrl: config.DATABASE_URL, poolMax: config.DB_POOL_MAX, logger });
  shutdown.defer('orm', () => orm.close(true));
  const redis = new Redis(config.REDIS_URL, { maxRetriesPerRequest: 3 });
  shutdown.defer('redis', async () => void (await redis.quit()));
  const redisSubscriber = new Redis(config.REDIS_URL, { maxRetriesPerRequest: null });
  // ioredis reconnects by itself; log instead of crashing on an unhandled 'error' event.
  for (const [name, client] of [
    ['redis', redis],
    ['redis-subscriber', redisSubscriber],
  ] as const) {
    client.on('error', warnRateLimited(logger, 'redis connection error (retrying)', { client: name }));
  }
  shutdown.defer('redis-subscriber', async () => void (await redisSubscriber.quit()));
  const wakeupQueue = createAuditWakeupQueue(redis, config.QUEUE_PREFIX, logger);
  shutdown.defer('audit-wakeup-queue', () => wakeupQueue.close());

  const gateway = await createGatewayApp({
    logger,
    orm,
    redis,
    redisSubscriber,
    wakeupQueue,
    options: {
      introspection: config.INTROSPECTION,
      graphiql: config.GRAPHIQL,
      sessionTtlS: config.SESSION_TTL_S,
      credentialsKey: config.CREDENTIALS_KEY,
      queuePrefix: config.QUEUE_PREFIX,
      loginMaxFailures: config.LOGIN_MAX_FAILURES,
      loginLockoutS: config.LOGIN_LOCKOUT_S,
      loginIpLimit: config.LOGIN_IP_LIMIT,
      loginIpWindowS: config.LOGIN_IP_WINDOW_S,
      maxPageSize: config.MAX_PAGE_SIZE,
      maxDepth: config.MAX_DEPTH,
      maxCost: config.MAX_COST,
      bodyLimit: config.BODY_LIMIT,
      subscriptionRecheckMs: config.SUBSCRIPTION_RECHECK_S * 1000,
      auditPublicKeys: config.AUDIT_PUBLIC_KEYS,
      processMetrics: true,
    },
  });
  shutdown.defer('http', () => gateway.stop());
  const port = await gateway.listen(config.GATEWAY_PORT, config.GATEWAY_HOST);
  logger.info({ url: `http://${config.GATEWAY_HOST}:${port}/graphql` }, 'gateway listening');
} catch (err) {
  logger.fatal({ err }, 'gateway failed to start');
  await shutdown.shutdown('startup failure');
  process.exit(1);
}
