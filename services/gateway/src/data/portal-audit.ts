import { randomUUID } from 'node:crypto';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { redisLost } from '../http/unavailable.ts';
import {
  AuditSourceEvent,
  jobId,
  parseContract,
  type AuditSourceEventInput,
  warnRateLimited,
  type Em,
  type Logger,
} from '@tenantgate/shared';

/** What a portal audit event needs beyond the request's own facts. */
export interface PortalEventInput {
  action: string;
  outcome: 'success' | 'failure' | 'unknown';
  actor: { type: 'portal-user' | 'portal-token' | 'unknown'; id: string | null; principal?: string | null };
  tenantIds: string[];
  target?: { type: string; id: string; name?: string | null; path?: string | null } | null;
  payload?: Record<string, unknown>;
  upid?: string | null;
  connectionId?: string | null;
}

export interface RequestFacts {
  requestId: string;
  srcIp: string | null;
}

/**
 * Writes portal audit events into audit_inbox (source 'portal', dedup key = request id + action)
 * inside the caller's transaction, and wakes the auditor after commit.
 */
export class PortalAudit {
  readonly #warnWakeFailed: (err: unknown) => void;

  constructor(
    private readonly wakeupQueue: Queue,
    /** The queue's Redis connection: only its status is read. */
    private readonly connection: Pick<Redis, 'status'>,
    logger: Logger,
  ) {
    this.#warnWakeFailed = warnRateLimited(logger, 'audit wake-up failed; the auditor sweep will pick the events up');
  }

  /** Inserts the event with `em` (use the mutation's transactional EntityManager). */
  async record(em: Em, req: RequestFacts, input: PortalEventInput): Promise<AuditSourceEvent> {
    const now = new Date().toISOString();
    const raw: AuditSourceEventInput = {
      eventId: randomUUID(),
      dedupKey: `portal:${req.requestId}:${input.action}`,
      source: 'portal',
      connectionId: input.connectionId ?? null,
      occurredAt: now,
      observedAt: now,
      category: input.action.split('.')[0]!,
      action: input.action,
      outcome: input.outcome,
      actor: { type: input.actor.type, id: input.actor.id, principal: input.actor.principal ?? null },
      srcIp: req.srcIp,
      target: input.target ? { name: null, path: null, ...input.target } : null,
      tenantIds: input.tenantIds,
      upid: input.upid ?? null,
      requestId: req.requestId,
      detection: 'reported',
      payload: input.payload ?? {},
    };
    const event = parseContract('AuditSourceEvent', AuditSourceEvent, raw);
    await em.execute(
      `INSERT INTO audit_inbox (dedup_key, event_id, connection_id, source, occurred_at, observed_at, event)
       VALUES (?, ?, ?, 'portal', ?, ?, ?::jsonb) ON CONFLICT (dedup_key) DO NOTHING`,
      [event.dedupKey, event.eventId, event.connectionId, event.occurredAt, event.observedAt, JSON.stringify(event)],
    );
    return event;
  }

  /** Wakes the auditor; a lost wake-up only delays processing (the auditor sweeps the inbox). */
  async wake(requestId: string): Promise<void> {
    try {
      // Redis away: skip at once rather than wait through ioredis's reconnect retries (up to ~6 s
      // per command once its backoff reaches 2 s), which every mutation would otherwise pay.
      if (redisLost(this.connection)) throw new Error(`redis connection is ${this.connection.status}`);
      await this.wakeupQueue.add(
        'wakeup',
        { reason: 'portal', connectionId: null, count: 1 },
        { jobId: jobId('portal', requestId), removeOnComplete: 1000, removeOnFail: 1000 },
      );
    } catch (err) {
      this.#warnWakeFailed(err);
    }
  }
}
