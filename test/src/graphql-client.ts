// A minimal GraphQL-over-HTTP and graphql-ws client for end-to-end tests.
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';

export interface GqlResult<T = any> {
  data?: T;
  errors?: Array<{ message: string; extensions?: { code?: string } }>;
}

export class GqlSession {
  token: string | undefined;
  tenantId: string | undefined;

  constructor(readonly url: string) {}

  async request<T = any>(query: string, variables: Record<string, unknown> = {}): Promise<GqlResult<T>> {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    if (this.tenantId) headers['x-tenant-id'] = this.tenantId;
    const res = await fetch(this.url, { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
    return (await res.json()) as GqlResult<T>;
  }

  /** Like request, but throws on GraphQL errors. */
  async data<T = any>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
    const res = await this.request<T>(query, variables);
    if (res.errors?.length) throw new Error(`GraphQL errors: ${JSON.stringify(res.errors)}`);
    return res.data as T;
  }

  async login(username: string, password: string, tenantId?: string): Promise<void> {
    const d = await this.data<{ login: { token: string } }>(
      'mutation ($u: String!, $p: String!) { login(username: $u, password: $p) { token } }',
      { u: username, p: password },
    );
    this.token = d.login.token;
    this.tenantId = tenantId;
  }

  /** A graphql-ws client authenticated in connection_init. */
  ws(wsUrl: string): Client {
    return createClient({
      url: wsUrl,
      webSocketImpl: WebSocket,
      lazy: false,
      retryAttempts: 0,
      connectionParams: { authorization: `Bearer ${this.token}`, tenantId: this.tenantId },
    });
  }
}

/** Collects every `next` payload of a subscription. */
export function collect<T = any>(client: Client, query: string, variables: Record<string, unknown> = {}) {
  const items: GqlResult<T>[] = [];
  const errors: unknown[] = [];
  const dispose = client.subscribe<T>(
    { query, variables },
    { next: (v) => items.push(v as GqlResult<T>), error: (e) => errors.push(e), complete: () => {} },
  );
  return { items, errors, dispose };
}
