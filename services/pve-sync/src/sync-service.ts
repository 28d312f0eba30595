// The pve-sync service: one BullMQ job scheduler per enabled connection (so a connection is polled
// once per interval however many pve-sync processes run), a worker that polls, and a reconcile
// loop that keeps the schedulers in step with pve_connection.
import { Queue, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import {
  QueueName,
  SyncPollJob,
  jobId,
  parseContract,
  warnRateLimited,
  type Logger,
  type Orm,
} from '@tenantgate/shared';
import { AuditWakeup } from './wakeup.ts';
import type { PveClientFactory } from './client-factory.ts';
import { ConnectionLock } from './connection-lock.ts';
import { listConnections } from './connections.ts';
import { inBackoff, readSyncHealth } from './health.ts';
import { ConnectionPoller, type PollResult } from './poller.ts';
import { defaultSourceSettings, type SourceSettings } from './source-context.ts';

export interface SyncServiceOptions {
  orm: Orm;
  /** ioredis with `maxRetriesPerRequest: null` (BullMQ workers need it). */
  redis: Redis;
  logger: Logger;
  credentialsKey: Buffer;
  clientFactory: PveClientFactory;
  queuePrefix: string;
  pollConcurrency?: number;
  reconcileIntervalMs?: number;
  backoffMaxMs?: number;
  settings?: Partial<SourceSettings>;
}

export type ScheduledPollResult = PollResult | { connectionId: string; status: 'busy' | 'backoff' | 'error' };

const SCHEDULER_PREFIX = jobId('poll');

export class SyncService {
  readonly #opts: SyncServiceOptions;
  readonly #poller: ConnectionPoller;
  readonly #lock: ConnectionLock;
  #pollQueue: Queue | undefined;
  #wakeupQueue: Queue | undefined;
  #wakeupPublisher: AuditWakeup | undefined;
  #worker: Worker | undefined;
  #reconcileTimer: NodeJS.Timeout | undefined;
  #reconciling: Promise<void> | undefined;
  #stopping: Promise<void> | undefined;

  constructor(opts: SyncServiceOptions) {
    this.#opts = opts;
    this.#lock = new ConnectionLock(opts.redis, opts.queuePrefix);
    this.#poller = new ConnectionPoller({
      em: opts.orm.em,
      credentialsKey: opts.credentialsKey,
      clientFactory: opts.clientFactory,
      settings: { ...defaultSourceSettings, ...opts.settings },
      logger: opts.logger,
      wakeup: (connectionId, source, inserted, commitKey) => this.#wakeup(connectionId, source, inserted, commitKey),
    });
  }

  async start(): Promise<void> {
    const { redis, queuePrefix } = this.#opts;
    this.#pollQueue = new Queue(QueueName.syncPoll, { connection: redis, prefix: queuePrefix });
    this.#wakeupQueue = new Queue(QueueName.auditWakeup, { connection: redis, prefix: queuePrefix });
    this.#pollQueue.on('error', warnRateLimited(this.#opts.logger, 'poll queue: redis error (retrying)'));
    this.#wakeupQueue.on('error', warnRateLimited(this.#opts.logger, 'wake-up queue: redis error (retrying)'));
    this.#wakeupPublisher = new AuditWakeup(this.#wakeupQueue, this.#opts.logger);
    this.#worker = new Worker(QueueName.syncPoll, (job: Job) => this.#process(job), {
      connection: redis,
      prefix: queuePrefix,
      concurrency: this.#opts.pollConcurrency ?? 4,
    });
    this.#worker.on('error', warnRateLimited(this.#opts.logger, 'sync worker error (retrying)'));
    await this.#worker.waitUntilReady();
    await this.reconcile();
    this.#scheduleReconcile();
  }

  /** Idempotent; waits for the polls in flight. */
  async stop(): Promise<void> {
    this.#stopping ??= (async () => {
      if (this.#reconcileTimer) clearTimeout(this.#reconcileTimer);
      this.#reconcileTimer = undefined;
      await this.#reconciling?.catch(() => undefined);
      const steps: Array<[string, (() => Promise<void>) | undefined]> = [
        ['worker', this.#worker ? () => this.#worker!.close() : undefined],
        ['poll queue', this.#pollQueue ? () => this.#pollQueue!.close() : undefined],
        ['wakeup queue', this.#wakeupQueue ? () => this.#wakeupQueue!.close() : undefined],
        ['PVE clients', () => this.#poller.close()],
      ];
      for (const [name, step] of steps) {
        try {
          await step?.();
        } catch (err) {
          this.#opts.logger.error({ err, step: name }, 'sync service stop step failed');
        }
      }
    })();
    await this.#stopping;
  }

  /** Creates, updates and removes job schedulers so that exactly the enabled connections are polled. */
  async reconcile(): Promise<void> {
    const queue = this.#pollQueue;
    if (!queue) throw new Error('SyncService is not started');
    this.#reconciling = (async () => {
      const connections = await listConnections(this.#opts.orm.em.fork());
      const wanted = new Map(connections.filter((c) => c.enabled).map((c) => [jobId('poll', c.id), c]));
      const existing = new Map((await queue.getJobSchedulers(0, -1)).map((s) => [s.key, s]));
      for (const [key, c] of wanted) {
        if (existing.get(key)?.every === c.pollIntervalMs) continue;
        await queue.upsertJobScheduler(
          key,
          { every: c.pollIntervalMs },
          {
            name: 'poll',
            data: { connectionId: c.id } satisfies SyncPollJob,
            opts: { removeOnComplete: { count: 100 }, removeOnFail: { count: 100 } },
          },
        );
        this.#opts.logger.info({ connection: c.name, everyMs: c.pollIntervalMs }, 'poll scheduled');
      }
      for (const key of existing.keys()) {
        if (key.startsWith(SCHEDULER_PREFIX) && !wanted.has(key)) {
          await queue.removeJobScheduler(key);
          this.#opts.logger.info({ scheduler: key }, 'poll unscheduled');
        }
      }
    })();
    await this.#reconciling;
  }

  /** Polls one connection now (under the connection lock), as a scheduled job would. */
  async pollNow(connectionId: string): Promise<ScheduledPollResult> {
    const r = await this.#lock.withLock(connectionId, () => this.#poller.poll(connectionId));
    return r.ran ? r.value : { connectionId, status: 'busy' };
  }

  async #process(job: Job): Promise<ScheduledPollResult> {
    let connectionId = 'unknown';
    try {
      connectionId = parseContract('SyncPollJob', SyncPollJob, job.data).connectionId;
      const [health] = await readSyncHealth(this.#opts.orm.em.fork(), { connectionId });
      if (health && inBackoff(health, health.pollIntervalMs, this.#opts.backoffMaxMs ?? 300_000, new Date())) {
        this.#opts.logger.debug({ connectionId, failures: health.consecutiveFailures }, 'connection in back-off');
        return { connectionId, status: 'backoff' };
      }
      const result = await this.pollNow(connectionId);
      this.#opts.logger.debug({ connectionId, status: result.status }, 'poll done');
      return result;
    } catch (err) {
      // A failing connection (or a database outage) must never crash the worker.
      this.#opts.logger.error({ err, connectionId }, 'poll failed');
      return { connectionId, status: 'error' };
    }
  }

  async #wakeup(connectionId: string, source: string, inserted: number, commitKey: string): Promise<void> {
    await this.#wakeupPublisher?.publish(connectionId, source, inserted, commitKey);
  }

  #scheduleReconcile(): void {
    if (this.#stopping) return;
    this.#reconcileTimer = setTimeout(() => {
      this.reconcile()
        .catch((err: unknown) => this.#opts.logger.error({ err }, 'reconciling poll schedulers failed'))
        .finally(() => this.#scheduleReconcile());
    }, this.#opts.reconcileIntervalMs ?? 30_000);
    this.#reconcileTimer.unref();
  }
}
