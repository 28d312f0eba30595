// GraphQL over HTTP for the fuzz: raw status and body, our own request id (the gateway keeps a
// well-formed x-request-id, and portal audit events are keyed by it), bearer token and tenant.
import { randomUUID } from 'node:crypto';

export interface Caller {
  name: string;
  token?: string;
  tenantId?: string;
}

export interface CallResult {
  status: number;
  body: any;
  text: string;
  requestId: string;
}

export async function call(
  url: string,
  who: Caller | null,
  query: string,
  variables: Record<string, unknown> = {},
): Promise<CallResult> {
  const requestId = randomUUID();
  const headers: Record<string, string> = { 'content-type': 'application/json', 'x-request-id': requestId };
  if (who?.token) headers.authorization = `Bearer ${who.token}`;
  if (who?.tenantId) headers['x-tenant-id'] = who.tenantId;
  const res = await fetch(url, { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
  const text = await res.text();
  let body: any;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: res.status, body, text, requestId };
}

/** Logs in and returns a caller for `tenantId` (or none). */
export async function loginAs(url: string, username: string, password: string, tenantId?: string): Promise<Caller> {
  const res = await call(
    url,
    null,
    'mutation ($u: String!, $p: String!) { login(username: $u, password: $p) { token } }',
    { u: username, p: password },
  );
  const token = res.body?.data?.login?.token as string | undefined;
  if (!token) throw new Error(`login ${username} failed: ${res.text}`);
  return { name: username, token, ...(tenantId ? { tenantId } : {}) };
}

/** Data of a call that must succeed. */
export async function data<T = any>(
  url: string,
  who: Caller,
  query: string,
  variables: Record<string, unknown> = {},
): Promise<T> {
  const res = await call(url, who, query, variables);
  if (res.status !== 200 || res.body?.errors?.length) throw new Error(`${query}: HTTP ${res.status} ${res.text}`);
  return res.body.data as T;
}

/** Error codes of a GraphQL response, in order. */
export function codes(body: any): string[] {
  return ((body?.errors ?? []) as Array<{ extensions?: { code?: string } }>).map((e) => e.extensions?.code ?? '?');
}
