import type { Redis } from 'ioredis';
import { createRedisEventTarget } from '@graphql-yoga/redis-event-target';
import { Repeater } from '@graphql-yoga/subscription';
import { AlertNotification, alertChannel, type Logger, type Orm } from '@tenantgate/shared';
import { STREAM_START, type AlertRepository } from '../data/alerts.ts';
import { retryTransient } from './transient.ts';

type EventTarget = ReturnType<typeof createRedisEventTarget>;

const REPLAY_BATCH = 500;

/** Accepts anything on the wire; malformed messages become null and are dropped by the feed. */
const safeJson = {
  parse(text: string): unknown {
    try {
      return JSON.parse(text);
    } catch {
      return null;
    }
  },
  stringify: (v: unknown) => JSON.stringify(v),
};

/** Live notifications whose row a read has not returned yet are read again after this, doubling. */
const SETTLE_RETRY_MIN_MS = 20;
const SETTLE_RETRY_MAX_MS = 1000;
/** A notification whose row never appears (not ours, or its writer's xid is fenced that long) is dropped. */
const PENDING_MAX_MS = 60_000;
/** Ids recently read, so a notification of a row already delivered costs no read. */
const RECENT_IDS = 1024;

/**
 * Alert notifications of one tenant (or the provider): replay of alert_event rows after a cursor
 * from Postgres, then live. Postgres is the only source of events: a live notification from Redis
 * pub/sub (`alertChannel(prefix, tenant)`, published by the auditor) only triggers a read, and rows
 * are read with AlertRepository's commit fence in (xid, id) order, so an event whose writer is
 * still in flight is never passed over by a later one that committed first. A notified row that
 * is not readable yet (fenced) is read again with a short backoff. The stream also reads after a
 * Redis reconnect (notifications may have been lost) and on a safety interval. Each row is read
 * once per stream: delivery is at-least-once across reconnects (by cursor), without gaps.
 */
export class AlertFeed {
  readonly #target: EventTarget;

  constructor(
    private readonly orm: Orm,
    private readonly alerts: AlertRepository,
    private readonly subscriber: Redis,
    publisher: Redis,
    private readonly prefix: string,
    private readonly logger: Logger,
    private readonly safetyPollMs = 10_000,
  ) {
    this.#target = createRedisEventTarget({
      publishClient: publisher,
      subscribeClient: subscriber,
      serializer: safeJson,
    });
  }

  stream(
    tenantId: string | null,
    after: string | null,
    accept: (n: AlertNotification) => boolean = () => true,
  ): AsyncIterableIterator<AlertNotification> {
    const topic = alertChannel(this.prefix, tenantId);
    return new Repeater<AlertNotification>(async (push, stop) => {
      /** Notified ids not read yet → when first notified. */
      const pending = new Map<string, number>();
      const recent = new Set<string>();
      let readRequested = false;
      let wake: (() => void) | undefined;
      const listener = (event: Event) => {
        const detail = (event as CustomEvent).detail;
        const res = AlertNotification.safeParse(detail);
        if (!res.success || res.data.tenantId !== tenantId) {
          this.logger.warn({ topic }, 'dropped a malformed alert notification');
          return;
        }
        if (recent.has(res.data.cursor)) return;
        if (!pending.has(res.data.cursor)) pending.set(res.data.cursor, Date.now());
        requestRead();
      };
      const requestRead = () => {
        readRequested = true;
        wake?.();
      };
      const idle = (ms?: number) =>
        new Promise<void>((resolve) => {
          const timer = ms === undefined ? undefined : setTimeout(resolve, ms);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        }).finally(() => (wake = undefined));
      this.#target.addEventListener(topic, listener);
      // ioredis re-subscribes after a reconnect; whatever was published meanwhile is read from Postgres.
      this.subscriber.on('ready', requestRead);
      const safetyPoll = setInterval(requestRead, this.safetyPollMs);
      try {
        // The event target subscribes without waiting; a second SUBSCRIBE on the same connection
        // resolves once Redis has confirmed both, so nothing published after this point is missed.
        await this.subscriber.subscribe(topic);
        const em = this.orm.em.fork();
        let stopped = false;
        void stop.then(() => {
          stopped = true;
          wake?.();
        });
        const retry = { logger: this.logger, what: `alert stream ${topic}`, stopped: () => stopped };
        let position =
          after === null
            ? STREAM_START
            : await retryTransient(() => this.alerts.positionOf(em, tenantId, after), retry);
        const readOnce = async () => {
          readRequested = false;
          for (;;) {
            em.clear();
            const rows = await this.alerts.eventsAfter(em, tenantId, position, REPLAY_BATCH);
            for (const r of rows) {
              const n: AlertNotification = {
                cursor: r.id,
                alertId: r.alert_id,
                tenantId: r.tenant_id,
                ruleCode: r.rule_code,
                state: r.to_state as AlertNotification['state'],
                fromState: (r.from_state ?? null) as AlertNotification['fromState'],
                severity: r.severity as AlertNotification['severity'],
                title: r.title,
                at: new Date(r.at).toISOString(),
              };
              position = { xid: r.xid, id: r.id };
              pending.delete(r.id);
              recent.add(r.id);
              if (recent.size > RECENT_IDS) recent.delete(recent.values().next().value!);
              if (accept(n)) await push(n);
            }
            if (rows.length < REPLAY_BATCH) break;
          }
          const now = Date.now();
          for (const [id, since] of pending) {
            if (now - since < PENDING_MAX_MS) continue;
            pending.delete(id);
            this.logger.warn(
              { topic, cursor: id },
              'a notified alert event never became readable; the safety poll reads it if it appears',
            );
          }
        };
        // A Postgres restart is waited out (the position survives a failed read).
        const read = () => retryTransient(readOnce, retry);
        await read();
        let retryMs = SETTLE_RETRY_MIN_MS;
        while (!stopped) {
          if (readRequested) {
            await read();
            continue;
          }
          if (pending.size > 0) {
            // Notified but fenced (its writer, or an older transaction, is still in flight).
            await idle(retryMs);
            retryMs = Math.min(retryMs * 2, SETTLE_RETRY_MAX_MS);
            readRequested = true;
            continue;
          }
          retryMs = SETTLE_RETRY_MIN_MS;
          await idle();
        }
      } catch (err) {
        this.logger.error({ err, topic }, 'alert stream failed');
        stop(err);
      } finally {
        clearInterval(safetyPoll);
        this.subscriber.off('ready', requestRead);
        this.#target.removeEventListener(topic, listener);
      }
    });
  }
}
