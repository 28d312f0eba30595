import type { Redis } from 'ioredis';
import { createRedisEventTarget } from '@graphql-yoga/redis-event-target';
import { Repeater } from '@graphql-yoga/subscription';
import { AlertNotification, alertChannel, type Logger, type Orm } from '@tenantgate/shared';
import type { AlertRepository } from '../data/alerts.ts';

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

/**
 * Alert notifications of one tenant (or the provider): replay of alert_event rows after a cursor
 * from Postgres, then live notifications from Redis pub/sub (`alertChannel(prefix, tenant)`), which
 * the auditor publishes. Postgres stays the source of truth: the stream reads it again whenever a
 * live notification skips cursors (one was lost, e.g. while the Redis subscriber reconnected), when
 * the subscriber connection is ready again after a reconnect, and on a safety interval. Events are
 * deduplicated by cursor, so delivery is at-least-once without gaps and without repeats.
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
      const queue: AlertNotification[] = [];
      let catchUpRequested = false;
      let wake: (() => void) | undefined;
      const listener = (event: Event) => {
        const detail = (event as CustomEvent).detail;
        const res = AlertNotification.safeParse(detail);
        if (!res.success || res.data.tenantId !== tenantId) {
          this.logger.warn({ topic }, 'dropped a malformed alert notification');
          return;
        }
        queue.push(res.data);
        wake?.();
      };
      const requestCatchUp = () => {
        catchUpRequested = true;
        wake?.();
      };
      this.#target.addEventListener(topic, listener);
      // ioredis re-subscribes after a reconnect; whatever was published meanwhile is read from Postgres.
      this.subscriber.on('ready', requestCatchUp);
      const safetyPoll = setInterval(requestCatchUp, this.safetyPollMs);
      try {
        // The event target subscribes without waiting; a second SUBSCRIBE on the same connection
        // resolves once Redis has confirmed both, so nothing published after this point is missed.
        await this.subscriber.subscribe(topic);
        let last = BigInt(after ?? '0');
        const em = this.orm.em.fork();
        const catchUp = async () => {
          catchUpRequested = false;
          for (;;) {
            em.clear();
            const rows = await this.alerts.eventsAfter(em, tenantId, last.toString(), REPLAY_BATCH);
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
              last = BigInt(r.id);
              if (accept(n)) await push(n);
            }
            if (rows.length < REPLAY_BATCH) break;
          }
        };
        await catchUp();
        let stopped = false;
        void stop.then(() => {
          stopped = true;
          wake?.();
        });
        while (!stopped) {
          if (catchUpRequested) {
            await catchUp();
            continue;
          }
          const n = queue.shift();
          if (!n) {
            await new Promise<void>((resolve) => (wake = resolve));
            wake = undefined;
            continue;
          }
          const cursor = BigInt(n.cursor);
          if (cursor <= last) continue;
          // Cursors skipped: an earlier notification may have been lost; Postgres has it.
          if (cursor > last + 1n) await catchUp();
          if (cursor <= last) continue;
          last = cursor;
          if (accept(n)) await push(n);
        }
      } catch (err) {
        this.logger.error({ err, topic }, 'alert stream failed');
        stop(err);
      } finally {
        clearInterval(safetyPoll);
        this.subscriber.off('ready', requestCatchUp);
        this.#target.removeEventListener(topic, listener);
      }
    });
  }
}
