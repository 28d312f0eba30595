// One poll of one connection: inventory, node tasks, cluster log, node journals, access config.
// Each source commits on its own (its inbox rows with its cursor), so a failing source never
// blocks or partially writes another; failures are recorded as per-source health and the poll as
// a whole as connection health (SYNC-001).
import { sha256, type Em, type Logger } from '@tenantgate/shared';
import type { PveClientFactory, PveSession } from './client-factory.ts';
import { openConnection, type OpenConnection } from './connections.ts';
import { failureOf } from './failures.ts';
import { CONNECTION_LEVEL_CODES, recordPollHealth } from './health.ts';
import type { SourceContext, SourceFailure, SourceSettings } from './source-context.ts';
import { recordSourceFailures } from './store.ts';
import { sqlOf } from './sql.ts';
import { syncAccess, ACCESS_SOURCE } from './sources/access.ts';
import { syncClusterLog, CLUSTER_LOG_SOURCE } from './sources/cluster-log.ts';
import { loadStoredGuests, syncInventory, INVENTORY_SOURCE, type InventorySnapshot } from './sources/inventory.ts';
import { syncJournals } from './sources/journal.ts';
import { syncTasks } from './sources/tasks.ts';

export type PollStatus = 'ok' | 'partial' | 'failed' | 'skipped';

export interface PollResult {
  connectionId: string;
  status: PollStatus;
  /** Inbox rows inserted by this poll. */
  inserted: number;
  failures: SourceFailure[];
  /** Milliseconds spent per source (observability and the benchmark). */
  timings: Record<string, number>;
}

export interface PollerDeps {
  em: Em;
  credentialsKey: Buffer;
  clientFactory: PveClientFactory;
  settings: SourceSettings;
  logger: Logger;
  /** Enqueues the auditor wake-up after a commit that inserted rows. */
  wakeup: (connectionId: string, source: string, inserted: number, commitKey: string) => Promise<void>;
  now?: () => Date;
}

export class ConnectionPoller {
  /** One client per connection, kept across polls (TLS sessions and keep-alive sockets are reused). */
  readonly #clients = new Map<string, { key: string; session: PveSession }>();

  constructor(private readonly deps: PollerDeps) {}

  /** Closes the cached clients; idempotent. */
  async close(): Promise<void> {
    const sessions = [...this.#clients.values()].map((c) => c.session);
    this.#clients.clear();
    await Promise.allSettled(sessions.map((s) => s.close()));
  }

  /** The cached client of a connection, replaced when its URL, fingerprint or credentials changed. */
  #session(connection: OpenConnection): PveSession {
    const key = sha256(
      JSON.stringify([connection.baseUrl, connection.fingerprint, connection.tokenId, connection.secret]),
    ).toString('hex');
    const cached = this.#clients.get(connection.id);
    if (cached?.key === key) return cached.session;
    if (cached) void cached.session.close().catch(() => undefined);
    const session = this.deps.clientFactory(connection);
    this.#clients.set(connection.id, { key, session });
    return session;
  }

  async poll(connectionId: string): Promise<PollResult> {
    const { deps } = this;
    const now = deps.now ?? (() => new Date());
    const em = deps.em.fork();
    const result: PollResult = { connectionId, status: 'ok', inserted: 0, failures: [], timings: {} };
    let connection;
    try {
      connection = await openConnection(em, deps.credentialsKey, connectionId);
    } catch (err) {
      result.failures.push(failureOf(CONNECTION_SOURCE_NAME, err));
    }
    if ((!connection && result.failures.length === 0) || (connection && !connection.enabled)) {
      await this.#clients
        .get(connectionId)
        ?.session.close()
        .catch(() => undefined);
      this.#clients.delete(connectionId);
      return { ...result, status: 'skipped' };
    }

    if (connection) {
      const session = this.#session(connection);
      const logger = deps.logger.child({ connection: connection.name });
      const ctx: SourceContext = {
        em,
        connectionId,
        connectionName: connection.name,
        tokenId: connection.tokenId,
        api: session,
        settings: deps.settings,
        logger,
        now,
        onCommitted: async (source, inserted, commitKey) => {
          result.inserted += inserted;
          await deps.wakeup(connectionId, source, inserted, commitKey);
        },
      };
      await this.#runSources(ctx, result);
    }

    try {
      const h = await recordPollHealth(em, connectionId, result.failures, now());
      if (h.inserted > 0) await deps.wakeup(connectionId, 'health', h.inserted, `t${h.transitions}`);
      if (h.changed) {
        deps.logger[h.healthy ? 'info' : 'warn'](
          { connectionId, failures: result.failures },
          h.healthy ? 'connection recovered' : 'connection unhealthy',
        );
      }
    } catch (err) {
      deps.logger.error({ err, connectionId }, 'recording connection health failed');
    }
    if (result.failures.length > 0) {
      result.status = result.failures.some((f) => CONNECTION_LEVEL_CODES.has(f.code)) ? 'failed' : 'partial';
    }
    return result;
  }

  async #runSources(ctx: SourceContext, result: PollResult): Promise<void> {
    const fail = async (failures: SourceFailure[]): Promise<void> => {
      result.failures.push(...failures);
      for (const f of failures) ctx.logger.warn({ source: f.source, code: f.code, err: f.message }, 'source failed');
      await recordSourceFailures(ctx.em, ctx.connectionId, failures).catch((err: unknown) =>
        ctx.logger.error({ err }, 'recording source failures failed'),
      );
    };

    let snapshot: InventorySnapshot | undefined;
    try {
      snapshot = (await timed(result, 'inventory', () => syncInventory(ctx))).snapshot;
    } catch (err) {
      const f = failureOf(INVENTORY_SOURCE, err);
      await fail([f]);
      if (CONNECTION_LEVEL_CODES.has(f.code)) return;
    }
    // Without a fresh inventory the node list and guest pools of the last good poll are used.
    snapshot ??= await this.#storedSnapshot(ctx).catch(() => undefined);
    if (snapshot) {
      const nodes = snapshot.nodes;
      const guests = snapshot.guests;
      const t = await timed(result, 'tasks', () => syncTasks(ctx, nodes, guests)).catch((err: unknown) => ({
        failures: [failureOf('tasks', err)],
        succeeded: [],
        inserted: 0,
      }));
      if (t.failures.length > 0) await fail(t.failures);
    }
    try {
      await timed(result, 'cluster-log', () => syncClusterLog(ctx));
    } catch (err) {
      await fail([failureOf(CLUSTER_LOG_SOURCE, err)]);
    }
    if (snapshot) {
      const nodes = snapshot.nodes;
      const j = await timed(result, 'journal', () => syncJournals(ctx, nodes)).catch((err: unknown) => ({
        failures: [failureOf('journal', err)],
        succeeded: [],
        inserted: 0,
      }));
      if (j.failures.length > 0) await fail(j.failures);
    }
    try {
      await timed(result, 'access', () => syncAccess(ctx));
    } catch (err) {
      await fail([failureOf(ACCESS_SOURCE, err)]);
    }
  }

  async #storedSnapshot(ctx: SourceContext): Promise<InventorySnapshot> {
    const nodes = await sqlOf(ctx.em).query<{ node: string; status: string }>(
      `SELECT node, status FROM pve_node WHERE connection_id = $1`,
      [ctx.connectionId],
    );
    return { nodes: new Map(nodes.map((n) => [n.node, n.status])), guests: await loadStoredGuests(ctx) };
  }
}

const CONNECTION_SOURCE_NAME = 'connection';

async function timed<T>(result: PollResult, name: string, fn: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  try {
    return await fn();
  } finally {
    result.timings[name] = Math.round(performance.now() - t0);
  }
}
