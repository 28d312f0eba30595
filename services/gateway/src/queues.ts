import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { QueueName } from '@tenantgate/shared';

/**
 * The auditor's wake-up queue as the gateway uses it (add only). Exported so the composition root
 * and the benchmark build it with the gateway's own bullmq.
 */
export function createAuditWakeupQueue(connection: Redis, prefix: string): Queue {
  return new Queue(QueueName.auditWakeup, { connection, prefix });
}
