import type { Redis } from 'ioredis';
import { alertChannel, type AlertNotification, type Logger } from '@tenantgate/shared';

/**
 * Publishes alert transitions on the per-tenant channel after their transaction committed.
 * Best effort by design: a lost message is replayed from alert_event by cursor (alertStream).
 */
export class AlertPublisher {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly logger: Logger,
  ) {}

  async publish(notifications: readonly AlertNotification[]): Promise<void> {
    if (notifications.length === 0) return;
    const pipeline = this.redis.pipeline();
    for (const n of notifications) pipeline.publish(alertChannel(this.prefix, n.tenantId), JSON.stringify(n));
    try {
      await pipeline.exec();
    } catch (err) {
      this.logger.warn({ err, count: notifications.length }, 'alert publication failed; clients replay from Postgres');
    }
  }
}
