// The auditor wake-up (GUIDE §1): "the inbox has new rows", enqueued after the commit with a
// deterministic job id. Best effort: the rows are already committed and the auditor also sweeps
// the inbox, so a lost wake-up only delays them.
import type { Queue } from 'bullmq';
import { AuditWakeupJob, jobId, parseContract, type Logger } from '@tenantgate/shared';

export class AuditWakeup {
  constructor(
    private readonly queue: Queue,
    private readonly logger: Logger,
  ) {}

  async publish(connectionId: string, source: string, inserted: number, commitKey: string): Promise<void> {
    try {
      const data = parseContract('AuditWakeupJob', AuditWakeupJob, {
        reason: `pve-sync:${source}`,
        connectionId,
        count: inserted,
      });
      await this.queue.add('wakeup', data, {
        // The same commit never wakes the auditor twice.
        jobId: jobId('wake', connectionId, commitKey),
        removeOnComplete: { count: 1000 },
        removeOnFail: { count: 1000 },
      });
    } catch (err) {
      this.logger.warn({ err, connectionId }, 'enqueueing the audit wake-up failed');
    }
  }
}
