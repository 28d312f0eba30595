import type { Redis } from 'ioredis';
import { createRedisEventTarget } from '@graphql-yoga/redis-event-target';
import { Repeater } from '@graphql-yoga/subscription';
import { taskChannel, type Logger, type Orm } from '@tenantgate/shared';
import type { TenantScope } from '../auth/authorization.ts';
import type { TaskRow } from '../data/tasks.ts';
import { isTimestamp } from '../graphql/relay.ts';
import { stringProblem } from '../graphql/input-strings.ts';
import { redisLost } from '../http/unavailable.ts';
import { retryTransient } from './transient.ts';

export interface TaskUpdate {
  cursor: string;
  task: TaskRow;
}

const BATCH = 500;

/**
 * Task updates of a tenant's guests. Postgres is the source (pve_task rows changed after a cursor of
 * (updated_at, upid), joined to the tenant's guests); a message on the tenant's Redis channel
 * (`taskChannel`) only says "look now" — so no message format is assumed — and a periodic poll
 * covers lost messages.
 */
export class TaskFeed {
  readonly #target: ReturnType<typeof createRedisEventTarget>;

  constructor(
    private readonly orm: Orm,
    private readonly subscriber: Redis,
    private readonly publisher: Redis,
    private readonly prefix: string,
    private readonly pollMs: number,
    private readonly logger: Logger,
  ) {
    this.#target = createRedisEventTarget({
      publishClient: publisher,
      subscribeClient: subscriber,
      serializer: { parse: () => null, stringify: () => '' },
    });
  }

  /** Tells every gateway's subscribers of the tenant to look for task changes now. */
  async notify(tenantId: string): Promise<void> {
    // Redis away: the 5 s poll covers it; do not hold the power action through reconnect retries.
    if (redisLost(this.publisher)) return;
    try {
      await this.publisher.publish(taskChannel(this.prefix, tenantId), '');
    } catch (err) {
      this.logger.warn({ err }, 'task notification failed; subscribers will poll');
    }
  }

  stream(scope: TenantScope, after: string | null): AsyncIterableIterator<TaskUpdate> {
    const topic = taskChannel(this.prefix, scope.tenantId);
    return new Repeater<TaskUpdate>(async (push, stop) => {
      let wake: (() => void) | undefined;
      let dirty = true;
      const listener = () => {
        dirty = true;
        wake?.();
      };
      this.#target.addEventListener(topic, listener);
      let stopped = false;
      void stop.then(() => {
        stopped = true;
        wake?.();
      });
      try {
        await this.subscriber.subscribe(topic);
        const em = this.orm.em.fork();
        const retry = { logger: this.logger, what: `task stream ${topic}`, stopped: () => stopped };
        let cursor = after ? decode(after) : await retryTransient(() => this.#now(), retry);
        // Rows after the cursor; a Postgres restart is waited out (the cursor survives a failed read).
        const readChanges = async () => {
          for (;;) {
            const rows = await em.execute<Array<TaskRow & { updated_text: string }>>(
              `SELECT t.upid, t.connection_id, t.node, t.type, t.vmid, t.pve_user, t.token_id, t.starttime, t.endtime, t.status,
                        t.outcome, t.portal_user_id, g.id AS guest_id, t.updated_at::text AS updated_text
                   FROM pve_task t JOIN guest g ON g.connection_id = t.connection_id AND g.vmid = t.vmid
                  WHERE g.tenant_id = ? AND (t.updated_at, t.upid) > (?::timestamptz, ?)
                  ORDER BY t.updated_at, t.upid LIMIT ${BATCH}`,
              [scope.tenantId, cursor[0], cursor[1]],
            );
            for (const r of rows) {
              cursor = [r.updated_text, r.upid];
              const { updated_text: _u, ...task } = r;
              await push({ cursor: encode(cursor), task });
            }
            if (rows.length < BATCH) break;
          }
        };
        while (!stopped) {
          if (dirty) {
            dirty = false;
            await retryTransient(readChanges, retry);
          }
          if (stopped) break;
          await new Promise<void>((resolve) => {
            const timer = setTimeout(() => {
              dirty = true;
              resolve();
            }, this.pollMs);
            wake = () => {
              clearTimeout(timer);
              resolve();
            };
          });
          wake = undefined;
        }
      } catch (err) {
        this.logger.error({ err, topic }, 'task stream failed');
        stop(err);
      } finally {
        this.#target.removeEventListener(topic, listener);
      }
    });
  }

  async #now(): Promise<[string, string]> {
    const [row] = await this.orm.em.fork().execute<Array<{ now: string }>>(`SELECT now()::text AS now`);
    return [row!.now, ''];
  }
}

function encode(c: [string, string]): string {
  return Buffer.from(JSON.stringify(c), 'utf8').toString('base64url');
}

function decode(s: string): [string, string] {
  try {
    const v: unknown = JSON.parse(Buffer.from(s, 'base64url').toString('utf8'));
    if (
      Array.isArray(v) &&
      v.length === 2 &&
      typeof v[0] === 'string' &&
      typeof v[1] === 'string' &&
      isTimestamp(v[0]) &&
      v[1].length <= 1024 &&
      stringProblem(v[1]) === null
    )
      return [v[0], v[1]];
  } catch {
    // fall through
  }
  throw new TypeError('invalid task cursor');
}

/** Validates a client-supplied cursor up front (BAD_USER_INPUT instead of a failed stream). */
export function isTaskCursor(s: string): boolean {
  try {
    decode(s);
    return true;
  } catch {
    return false;
  }
}
