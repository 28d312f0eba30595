// The auditor wake-up (GUIDE §1): "the inbox has new rows", enqueued after the commit with a
// deterministic job id. Best effort: the rows are already committed and the auditor also sweeps
// the inbox, so a lost wake-up only delays them.
import { AuditWakeupJob, jobId, parseContract, type Logger } from '@tenantgate/shared';

/** The part of a BullMQ Queue the publisher uses (any BullMQ copy in the workspace satisfies it). */
export interface WakeupQueue {
  add(
    name: string,
    data: AuditWakeupJob,
    opts: { jobId: string; removeOnComplete: { count: number }; removeOnFail: { count: number } },
  ): Promise<unknown>;
}

export class AuditWakeup {
  constructor(
    private readonly queue: WakeupQueue,
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
