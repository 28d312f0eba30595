import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { QueueName, warnRateLimited, type Logger } from '@tenantgate/shared';

/**
 * The auditor's wake-up queue as the gateway uses it (add only). Exported so the composition root
 * and the benchmark build it with the gateway's own bullmq.
 *
 * A BullMQ Queue re-emits its connection's errors; without a listener it prints each one. With a
 * logger they become one warning per 30 s; without one they are left to the connection's own
 * listener (the same errors) and to the rejected `add()` calls.
 */
export function createAuditWakeupQueue(connection: Redis, prefix: string, logger?: Logger): Queue {
  const queue = new Queue(QueueName.auditWakeup, { connection, prefix });
  queue.on('error', logger ? warnRateLimited(logger, 'audit wake-up queue: redis error (retrying)') : () => {});
  return queue;
}
