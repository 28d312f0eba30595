// The auditor service: wake-up worker + sweeper drain the inbox into hash chains; tickers sign
// interval checkpoints and run the monitors. Built from its dependencies so tests run it
// in-process; main.ts is the only place that constructs clients.
import { Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { SigningKey } from '@tenantgate/audit-core';
import { AuditWakeupJob, QueueName, warnRateLimited, type AlertNotification, type Logger } from '@tenantgate/shared';
import { inTransaction, type Db } from './db.ts';
import { ChainWriter } from './chain-writer.ts';
import { InboxProcessor } from './inbox-processor.ts';
import { AlertEngine } from './alerts/engine.ts';
import { AlertStore } from './alerts/store.ts';
import { AlertPublisher } from './alerts/publisher.ts';
import { seedStarterRules } from './alerts/seed.ts';
import { systemClock, type Clock } from './alerts/types.ts';
import { Monitors } from './monitors.ts';
import { Drain, Ticker } from './loops.ts';
import { PeriodicVerifier, type PeriodicVerificationResult } from './periodic-verifier.ts';
import { pruneProcessedInbox } from './inbox-retention.ts';

export interface AuditorOptions {
  queuePrefix: string;
  batchSize: number;
  checkpointEveryRecords: number;
  checkpointIntervalMs: number;
  sweepIntervalMs: number;
  monitorIntervalMs: number;
  workerConcurrency: number;
  /** Batches processed concurrently by this process (default 1). */
  drainParallelism?: number;
  /** Failed attempts after which an inbox row is quarantined as audit.invalid_event (default 3). */
  poisonMaxAttempts?: number;
  /** A failed inbox row is retried alone after this delay × its attempts (default 10 s). */
  poisonRetryDelayMs?: number;
  /** Incremental chain verification by the service (default 5 min). */
  verifyIntervalMs?: number;
  /** Processed inbox rows older than this are deleted (default 7 days). */
  inboxRetentionMs?: number;
  /** How often the inbox retention runs (default 1 h). */
  inboxRetentionIntervalMs?: number;
  /** Rows deleted per statement by the inbox retention (default 5000). */
  inboxRetentionBatch?: number;
}

export interface AuditorDeps {
  db: Db;
  /** Publishes alert notifications. */
  redis: Redis;
  /** BullMQ worker connection (maxRetriesPerRequest: null); omitted: sweeper only. */
  bullConnection?: Redis;
  signingKey: SigningKey;
  logger: Logger;
  clock?: Clock;
  options: AuditorOptions;
}

export class AuditorService {
  readonly name = 'auditor';
  readonly writer: ChainWriter;
  readonly store: AlertStore;
  readonly publisher: AlertPublisher;
  readonly processor: InboxProcessor;
  readonly monitors: Monitors;
  readonly verifier: PeriodicVerifier;
  readonly #drain: Drain;
  readonly #tickers: Ticker[] = [];
  #worker: Worker | undefined;
  /** Reads failed wake-up jobs for the AUDIT-002 stall signal (with a BullMQ connection only). */
  readonly #wakeups: Queue | undefined;
  #stopping: Promise<void> | undefined;
  #ready = false;

  constructor(private readonly deps: AuditorDeps) {
    const clock = deps.clock ?? systemClock;
    const logger = deps.logger;
    this.writer = new ChainWriter(deps.signingKey, clock, deps.options.checkpointEveryRecords);
    this.store = new AlertStore(clock);
    this.publisher = new AlertPublisher(deps.redis, deps.options.queuePrefix, logger);
    const engine = new AlertEngine(this.store, clock, logger);
    this.processor = new InboxProcessor({
      db: deps.db,
      writer: this.writer,
      engine,
      store: this.store,
      publisher: this.publisher,
      logger,
      clock,
      batchSize: deps.options.batchSize,
      ...(deps.options.poisonMaxAttempts !== undefined ? { poisonMaxAttempts: deps.options.poisonMaxAttempts } : {}),
      ...(deps.options.poisonRetryDelayMs !== undefined ? { poisonRetryDelayMs: deps.options.poisonRetryDelayMs } : {}),
    });
    if (deps.bullConnection)
      this.#wakeups = new Queue(QueueName.auditWakeup, {
        connection: deps.bullConnection,
        prefix: deps.options.queuePrefix,
      });
    this.#wakeups?.on('error', warnRateLimited(logger, 'wake-up queue: redis error (retrying)'));
    const wakeups = this.#wakeups;
    this.monitors = new Monitors(
      deps.db,
      this.store,
      clock,
      wakeups
        ? async () => (await wakeups.getJobs(['failed'], 0, 199, false)).map((j) => j.finishedOn ?? j.timestamp)
        : undefined,
    );
    this.verifier = new PeriodicVerifier(deps.db, [deps.signingKey.publicKey], logger, {
      clock,
      publish: async (n) => await this.publisher.publish(n),
    });
    this.#drain = new Drain(
      'inbox',
      async () => (await this.processor.processBatch()).claimed > 0,
      logger,
      deps.options.drainParallelism ?? 1,
    );
  }

  get ready(): boolean {
    return this.#ready;
  }

  async start(): Promise<void> {
    const { options, logger } = this.deps;
    await seedStarterRules(this.deps.db);
    if (this.deps.bullConnection) {
      this.#worker = new Worker(
        QueueName.auditWakeup,
        async (job) => {
          // a wake-up is only a hint: a malformed one is logged, and the inbox is drained anyway
          const valid = AuditWakeupJob.safeParse(job.data);
          if (!valid.success)
            logger.warn({ jobId: job.id, issues: valid.error.issues }, 'AuditWakeupJob violates its contract');
          // a failed drain fails the job: failed wake-ups are part of the AUDIT-002 stall signal
          if (!(await this.#drain.kick())) throw new Error('inbox drain failed (see the auditor log)');
        },
        {
          connection: this.deps.bullConnection,
          prefix: options.queuePrefix,
          concurrency: options.workerConcurrency,
          removeOnComplete: { count: 1000 },
          removeOnFail: { count: 1000 },
        },
      );
      this.#worker.on('error', warnRateLimited(logger, 'wake-up worker error (retrying)'));
      await this.#worker.waitUntilReady();
    }
    // the sweeper drains whatever no wake-up announced (a flushed or unreachable Redis loses nothing)
    this.#tickers.push(
      new Ticker('sweep', options.sweepIntervalMs, async () => void (await this.#drain.kick()), logger),
    );
    this.#tickers.push(
      new Ticker('checkpoint', options.checkpointIntervalMs, async () => void (await this.checkpointNow()), logger),
    );
    this.#tickers.push(
      new Ticker('monitors', options.monitorIntervalMs, async () => void (await this.runMonitors()), logger),
    );
    this.#tickers.push(
      new Ticker(
        'inbox-retention',
        options.inboxRetentionIntervalMs ?? 3_600_000,
        async () => void (await this.pruneInboxNow()),
        logger,
      ),
    );
    this.#tickers.push(
      new Ticker('verify', options.verifyIntervalMs ?? 300_000, async () => void (await this.verifyNow()), logger),
    );
    for (const t of this.#tickers) t.start();
    void this.#drain.kick();
    this.#ready = true;
    logger.info({ keyId: this.deps.signingKey.keyId }, 'auditor started');
  }

  /** Drains the inbox now (tests, CLI); resolves when it is empty. */
  async drainNow(): Promise<void> {
    await this.#drain.kick();
  }

  /** Signs interval checkpoints for chains whose last one is older than the interval. */
  async checkpointNow(olderThanMs = this.deps.options.checkpointIntervalMs): Promise<number> {
    return await inTransaction(this.deps.db, async (tx) => await this.writer.checkpointStale(tx, olderThanMs));
  }

  /**
   * Verifies every chain incrementally (from the last verified checkpoint); findings raise AUDIT-001
   * through the inbox, which is drained at once. Null when another process is verifying.
   */
  async verifyNow(): Promise<PeriodicVerificationResult | null> {
    const result = await this.verifier.runOnce();
    if (result && result.raised.length > 0) await this.#drain.kick();
    return result;
  }

  /** Deletes processed inbox rows older than the retention, in batches; returns how many. */
  async pruneInboxNow(): Promise<number> {
    const { options, logger } = this.deps;
    const deleted = await pruneProcessedInbox(this.deps.db, {
      olderThanMs: options.inboxRetentionMs ?? 7 * 24 * 3_600_000,
      batchSize: options.inboxRetentionBatch ?? 5000,
    });
    if (deleted > 0) logger.info({ deleted }, 'inbox retention deleted processed rows');
    return deleted;
  }

  async runMonitors(): Promise<AlertNotification[]> {
    const notifications = await this.monitors.run();
    await this.publisher.publish(notifications);
    return notifications;
  }

  /** Idempotent: stops timers and the worker, then awaits the batch in flight. */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      this.#ready = false;
      await Promise.allSettled(this.#tickers.map((t) => t.stop()));
      await this.#worker?.close();
      await this.#drain.stop();
      await this.#wakeups?.close();
    })();
    return this.#stopping;
  }
}
