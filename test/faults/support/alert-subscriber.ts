// A graphql-ws alert subscriber that behaves like a well-written client: it subscribes to
// `alertStream(after: cursor)`, remembers the highest cursor it has seen, and when the connection
// drops (a killed gateway, a refused connection while Postgres is down) it reconnects — to the
// next gateway of its list — and resumes after that cursor. It records everything it receives.
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';

export interface ReceivedAlert {
  cursor: string;
  alertId: string;
  ruleCode: string;
  state: string;
  title: string;
  /** Index of the gateway URL it came through. */
  via: number;
}

const QUERY = 'subscription ($after: String) { alertStream(after: $after) { cursor alertId ruleCode state title } }';

export class AlertSubscriber {
  /** By cursor; a cursor received twice (at-least-once delivery) is counted in `duplicates`. */
  readonly received = new Map<string, ReceivedAlert>();
  duplicates = 0;
  /** Connection attempts after the first one (each retry while a gateway is down counts). */
  reconnects = 0;
  /** Connections the gateway accepted (connection_ack). */
  connections = 0;
  readonly errors: string[] = [];
  #client: Client | undefined;
  #dispose: (() => void) | undefined;
  #stopped = false;
  #next = 0;
  #generation = 0;
  #lastCursor: bigint;

  constructor(
    readonly name: string,
    private readonly wsUrls: string[],
    private readonly auth: { token: string; tenantId: string },
    after = '0',
  ) {
    this.#lastCursor = BigInt(after);
  }

  get lastCursor(): string {
    return this.#lastCursor.toString();
  }

  start(): void {
    this.#connect();
  }

  #connect(): void {
    if (this.#stopped) return;
    const generation = ++this.#generation;
    const via = this.#next;
    const url = this.wsUrls[via % this.wsUrls.length]!;
    this.#next = (this.#next + 1) % this.wsUrls.length;
    const client = createClient({
      url,
      webSocketImpl: WebSocket,
      lazy: false,
      retryAttempts: 0,
      connectionParams: { authorization: `Bearer ${this.auth.token}`, tenantId: this.auth.tenantId },
      onNonLazyError: () => this.#lost(generation, 'connection failed'),
      on: { connected: () => void this.connections++ },
    });
    this.#client = client;
    this.#dispose = client.subscribe<{
      alertStream: { cursor: string; alertId: string; ruleCode: string; state: string; title: string };
    }>(
      { query: QUERY, variables: { after: this.lastCursor } },
      {
        next: (v) => {
          const a = v.data?.alertStream;
          if (!a) {
            this.errors.push(`${this.name}: ${JSON.stringify(v.errors ?? v)}`);
            return;
          }
          if (this.received.has(a.cursor)) this.duplicates++;
          else this.received.set(a.cursor, { ...a, via });
          const c = BigInt(a.cursor);
          if (c > this.#lastCursor) this.#lastCursor = c;
        },
        error: (e) => this.#lost(generation, describe(e)),
        complete: () => this.#lost(generation, 'completed'),
      },
    );
  }

  /** The connection or the subscription ended: start over after the last cursor seen. */
  #lost(generation: number, why: string): void {
    if (this.#stopped || generation !== this.#generation) return;
    this.#generation++; // later callbacks of this connection are ignored
    void this.#client?.dispose();
    setTimeout(() => {
      if (this.#stopped) return;
      this.reconnects++;
      this.#connect();
    }, 200);
    if (!/1006|closed|connection failed|4403|Forbidden/i.test(why)) this.errors.push(`${this.name}: ${why}`);
  }

  /** Cursors of `expected` this subscriber has not received. */
  missing(expected: Iterable<string>): string[] {
    return [...expected].filter((c) => !this.received.has(c));
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#dispose?.();
    await this.#client?.dispose();
  }
}

function describe(e: unknown): string {
  if (e && typeof e === 'object' && 'code' in e) {
    const ce = e as { code: number; reason?: string };
    return `closed ${ce.code} ${ce.reason ?? ''}`;
  }
  if (Array.isArray(e)) return JSON.stringify(e);
  return e instanceof Error ? e.message : String(e);
}
