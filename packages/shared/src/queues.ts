// Queue and channel names. BullMQ keys live under `${QUEUE_PREFIX}`; job ids never contain ':'
// and are never integer strings (BullMQ 6 rule).

export const QueueName = {
  /** pve-sync → auditor: the inbox has new rows. */
  auditWakeup: 'audit-wakeup',
  /** pve-sync job schedulers: one per connection. */
  syncPoll: 'sync-poll',
} as const;

/** Redis pub/sub channel for alert notifications of one tenant (or the provider chain). */
export function alertChannel(prefix: string, tenantId: string | null): string {
  return `${prefix}:alerts:${tenantId ?? 'provider'}`;
}

/** Redis pub/sub channel for task updates of one tenant. */
export function taskChannel(prefix: string, tenantId: string): string {
  return `${prefix}:tasks:${tenantId}`;
}

/** Makes a string safe as a BullMQ custom job id. */
export function jobId(...parts: Array<string | number>): string {
  return `j-${parts.map((p) => String(p).replace(/[^A-Za-z0-9_.-]/g, '_')).join('-')}`;
}
