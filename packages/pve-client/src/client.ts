import { setTimeout as sleep } from 'node:timers/promises';
import pLimit, { type LimitFunction } from 'p-limit';
import { Agent, type Dispatcher } from 'undici';
import { z } from 'zod';
import { AppError, type Logger } from '@tenantgate/shared';
import { PveAuthError } from './errors/pve-auth-error.ts';
import { PveError, type PveErrorContext } from './errors/pve-error.ts';
import { PveHttpError } from './errors/pve-http-error.ts';
import { PvePermissionError } from './errors/pve-permission-error.ts';
import { PveResponseInvalidError } from './errors/pve-response-invalid-error.ts';
import { PveTlsFingerprintMismatchError } from './errors/pve-tls-fingerprint-mismatch-error.ts';
import { PveUnreachableError, type UnreachableReason } from './errors/pve-unreachable-error.ts';
import { normaliseFingerprint } from './fingerprint.ts';
import { decodeBody, parseJsonBody, schemaError } from './http-body.ts';
import {
  aclSchema,
  clusterLogSchema,
  clusterResourcesSchema,
  clusterStatusSchema,
  clusterTasksSchema,
  groupsSchema,
  guestStatusSchema,
  journalSchema,
  logLinesSchema,
  lxcListItemSchema,
  nodeListSchema,
  nodeTasksSchema,
  permissionsSchema,
  poolDetailListSchema,
  poolListSchema,
  qemuListItemSchema,
  rolesSchema,
  taskStatusSchema,
  upidResultSchema,
  userTokensSchema,
  usersSchema,
  versionSchema,
  nodeTimeSchema,
  type PveNodeTime,
  type PveAclEntry,
  type PveClusterLogEntry,
  type PveClusterResource,
  type PveClusterStatusItem,
  type PveClusterTask,
  type PveGroup,
  type PveGuestStatus,
  type PveLogLine,
  type PveLxcListItem,
  type PveNode,
  type PveNodeTask,
  type PvePermissions,
  type PvePool,
  type PvePoolListItem,
  type PveQemuListItem,
  type PveRole,
  type PveTaskStatus,
  type PveToken,
  type PveUser,
  type PveVersion,
} from './schemas/index.ts';
import { buildPveConnector } from './tls.ts';

export type PveAuth =
  { kind: 'token'; tokenId: string; secret: string } | { kind: 'ticket'; username: string; password: string };

export interface PveClientOptions {
  /** Used in every error message and log line. */
  connectionName: string;
  /** `https://host:8006`; the client appends `/api2/json`. */
  baseUrl: string;
  auth: PveAuth;
  /** SHA-256 `AA:BB:…` (any case/separators); pinned on every TLS connection instead of CA validation. */
  fingerprint?: string;
  /** A CA bundle to validate against (when no fingerprint is pinned). */
  ca?: string | Buffer;
  /** Per request, including reading the body (default 15000). */
  timeoutMs?: number;
  /** Extra attempts for idempotent calls (GET) on retryable failures (default 2). Never for POST. */
  retries?: number;
  /** Base of the exponential backoff with full jitter (default 250 ms, capped at 10 s). */
  retryBaseDelayMs?: number;
  /** Max in-flight requests for this connection (default 4). */
  concurrency?: number;
  /** Refuse bodies larger than this, after decompression (default 64 MiB). */
  maxResponseBytes?: number;
  logger?: Logger;
  /** Clock for ticket renewal (tests); defaults to Date.now. */
  now?: () => number;
}

export type PveResourceType = 'vm' | 'storage' | 'node' | 'sdn';
export type PveGuestType = 'qemu' | 'lxc';
export type PvePowerAction = 'start' | 'stop' | 'shutdown' | 'reboot' | 'suspend' | 'resume';

export interface NodeTasksParams {
  start?: number;
  limit?: number;
  since?: number;
  until?: number;
  userfilter?: string;
  typefilter?: string;
  vmid?: number;
  source?: 'archive' | 'active' | 'all';
  statusfilter?: string;
  errors?: boolean;
}

export interface JournalParams {
  since?: number;
  until?: number;
  lastentries?: number;
  startcursor?: string;
  endcursor?: string;
}

export interface SyslogParams {
  start?: number;
  limit?: number;
  /** `YYYY-MM-DD[ HH:MM[:SS]]` */
  since?: string;
  until?: string;
  service?: string;
}

type QueryValue = string | number | boolean | undefined;
type Params = Record<string, QueryValue>;

interface Call<S extends z.ZodType> {
  method: 'GET' | 'POST';
  path: string;
  query?: Params;
  form?: Params;
  schema: S;
  /** The envelope must carry `total` (node task list, task log, syslog). */
  total?: boolean;
  /** Send credentials (false only for the login itself). */
  authenticate?: boolean;
}

interface Ticket {
  ticket: string;
  csrf: string;
  obtainedAt: number;
}

const ticketSchema = z.looseObject({
  username: z.string(),
  ticket: z.string().min(1),
  CSRFPreventionToken: z.string().optional(),
  NeedTFA: z.union([z.literal(0), z.literal(1), z.boolean()]).optional(),
});

const envelopeSchema = z.looseObject({ data: z.unknown(), total: z.unknown().optional() });
const totalSchema = z.number().int().nonnegative();

// Tickets live 2 h; renew well before, and fall back to a password login when renewal is refused.
const TICKET_RENEW_AFTER_MS = 60 * 60 * 1000;
const TICKET_LIFETIME_MS = 2 * 60 * 60 * 1000 - 5 * 60 * 1000;
const MAX_BACKOFF_MS = 10_000;

const NETWORK_CODES: Record<string, UnreachableReason> = {
  ECONNREFUSED: 'connect',
  ENOTFOUND: 'connect',
  EAI_AGAIN: 'connect',
  EHOSTUNREACH: 'connect',
  ENETUNREACH: 'connect',
  EHOSTDOWN: 'connect',
  ECONNRESET: 'reset',
  EPIPE: 'reset',
  ECONNABORTED: 'reset',
  UND_ERR_SOCKET: 'reset',
  UND_ERR_CONNECT_TIMEOUT: 'timeout',
  UND_ERR_HEADERS_TIMEOUT: 'timeout',
  UND_ERR_BODY_TIMEOUT: 'timeout',
  ETIMEDOUT: 'timeout',
  UND_ERR_CLOSED: 'closed',
  UND_ERR_DESTROYED: 'closed',
};

/**
 * The hardened PVE API client: one instance per PVE connection. Every response is validated into a typed
 * result; every failure is a typed `PveError` naming the connection and endpoint.
 */
export class PveClient {
  readonly connectionName: string;
  private readonly origin: string;
  private readonly basePath: string;
  private readonly auth: PveAuth;
  private readonly timeoutMs: number;
  private readonly retries: number;
  private readonly retryBaseDelayMs: number;
  private readonly maxResponseBytes: number;
  private readonly logger: Logger | undefined;
  private readonly now: () => number;
  private readonly agent: Agent;
  private readonly limit: LimitFunction;
  private ticket: Ticket | undefined;
  private loginInFlight: Promise<Ticket> | undefined;
  private closing: Promise<void> | undefined;

  constructor(options: PveClientOptions) {
    if (!options.connectionName) throw AppError.badInput('connectionName is required');
    let url: URL;
    try {
      url = new URL(options.baseUrl);
    } catch {
      throw AppError.badInput(`[${options.connectionName}] baseUrl is not a URL: ${options.baseUrl}`);
    }
    if (url.protocol !== 'https:')
      throw AppError.badInput(`[${options.connectionName}] baseUrl must be https: ${options.baseUrl}`);
    if (options.fingerprint !== undefined && options.ca !== undefined) {
      throw AppError.badInput(`[${options.connectionName}] give either a fingerprint or a CA, not both`);
    }
    this.connectionName = options.connectionName;
    this.origin = url.origin;
    this.basePath = `${url.pathname.replace(/\/+$/, '')}/api2/json`;
    this.auth = options.auth;
    this.timeoutMs = options.timeoutMs ?? 15_000;
    this.retries = Math.max(0, options.retries ?? 2);
    this.retryBaseDelayMs = options.retryBaseDelayMs ?? 250;
    this.maxResponseBytes = options.maxResponseBytes ?? 64 * 1024 * 1024;
    this.logger = options.logger?.child({ component: 'pve-client', connection: options.connectionName });
    this.now = options.now ?? Date.now;
    const concurrency = options.concurrency ?? 4;
    if (!Number.isInteger(concurrency) || concurrency < 1)
      throw AppError.badInput(`[${options.connectionName}] concurrency must be ≥ 1`);
    this.limit = pLimit(concurrency);
    this.agent = new Agent({
      connections: concurrency,
      pipelining: 1,
      connect: buildPveConnector({
        connectionName: options.connectionName,
        fingerprint: options.fingerprint === undefined ? undefined : normaliseFingerprint(options.fingerprint),
        ca: options.ca,
        connectTimeoutMs: this.timeoutMs,
      }),
      headersTimeout: this.timeoutMs,
      bodyTimeout: this.timeoutMs,
    });
  }

  // ---- endpoints -------------------------------------------------------------------------------

  async version(): Promise<PveVersion> {
    return (await this.call({ method: 'GET', path: '/version', schema: versionSchema })).data;
  }

  async clusterStatus(): Promise<PveClusterStatusItem[]> {
    return (await this.call({ method: 'GET', path: '/cluster/status', schema: clusterStatusSchema })).data;
  }

  async clusterResources(type?: PveResourceType): Promise<PveClusterResource[]> {
    return (
      await this.call({ method: 'GET', path: '/cluster/resources', query: { type }, schema: clusterResourcesSchema })
    ).data;
  }

  async clusterTasks(): Promise<PveClusterTask[]> {
    return (await this.call({ method: 'GET', path: '/cluster/tasks', schema: clusterTasksSchema })).data;
  }

  async clusterLog(max?: number): Promise<PveClusterLogEntry[]> {
    return (await this.call({ method: 'GET', path: '/cluster/log', query: { max }, schema: clusterLogSchema })).data;
  }

  async nodes(): Promise<PveNode[]> {
    return (await this.call({ method: 'GET', path: '/nodes', schema: nodeListSchema })).data;
  }

  async nodeTasks(node: string, params: NodeTasksParams = {}): Promise<{ total: number; data: PveNodeTask[] }> {
    const { data, total } = await this.call({
      method: 'GET',
      path: `/nodes/${seg(node)}/tasks`,
      query: { ...params },
      schema: nodeTasksSchema,
      total: true,
    });
    return { total: total ?? data.length, data };
  }

  async taskStatus(node: string, upid: string): Promise<PveTaskStatus> {
    return (
      await this.call({
        method: 'GET',
        path: `/nodes/${seg(node)}/tasks/${seg(upid)}/status`,
        schema: taskStatusSchema,
      })
    ).data;
  }

  async taskLog(
    node: string,
    upid: string,
    params: { start?: number; limit?: number } = {},
  ): Promise<{ total: number; lines: PveLogLine[] }> {
    const { data, total } = await this.call({
      method: 'GET',
      path: `/nodes/${seg(node)}/tasks/${seg(upid)}/log`,
      query: { ...params },
      schema: logLinesSchema,
      total: true,
    });
    return { total: total ?? data.length, lines: data };
  }

  /** The journal's first and last elements are cursors; `lines` are the entries between them. */
  async journal(
    node: string,
    params: JournalParams = {},
  ): Promise<{ startCursor: string; endCursor: string; lines: string[] }> {
    const { data } = await this.call({
      method: 'GET',
      path: `/nodes/${seg(node)}/journal`,
      query: { ...params },
      schema: journalSchema,
    });
    return { startCursor: data[0]!, endCursor: data[data.length - 1]!, lines: data.slice(1, -1) };
  }

  /** The node's clock and time zone (journal lines carry its local time without a zone). */
  async nodeTime(node: string): Promise<PveNodeTime> {
    return (await this.call({ method: 'GET', path: `/nodes/${seg(node)}/time`, schema: nodeTimeSchema })).data;
  }

  async syslog(node: string, params: SyslogParams = {}): Promise<{ total: number; lines: PveLogLine[] }> {
    const { data, total } = await this.call({
      method: 'GET',
      path: `/nodes/${seg(node)}/syslog`,
      query: { ...params },
      schema: logLinesSchema,
      total: true,
    });
    return { total: total ?? data.length, lines: data };
  }

  async users(params: { full?: boolean } = {}): Promise<PveUser[]> {
    return (
      await this.call({ method: 'GET', path: '/access/users', query: { full: params.full }, schema: usersSchema })
    ).data;
  }

  async groups(): Promise<PveGroup[]> {
    return (await this.call({ method: 'GET', path: '/access/groups', schema: groupsSchema })).data;
  }

  async roles(): Promise<PveRole[]> {
    return (await this.call({ method: 'GET', path: '/access/roles', schema: rolesSchema })).data;
  }

  async acl(): Promise<PveAclEntry[]> {
    return (await this.call({ method: 'GET', path: '/access/acl', schema: aclSchema })).data;
  }

  async permissions(params: { userid?: string; path?: string } = {}): Promise<PvePermissions> {
    return (
      await this.call({ method: 'GET', path: '/access/permissions', query: { ...params }, schema: permissionsSchema })
    ).data;
  }

  async userTokens(userid: string): Promise<PveToken[]> {
    return (await this.call({ method: 'GET', path: `/access/users/${seg(userid)}/token`, schema: userTokensSchema }))
      .data;
  }

  async pools(): Promise<PvePoolListItem[]> {
    return (await this.call({ method: 'GET', path: '/pools', schema: poolListSchema })).data;
  }

  /** `GET /pools?poolid=` (nested-pool aware); PVE answers a one-element array. */
  async pool(poolid: string): Promise<PvePool> {
    return (await this.call({ method: 'GET', path: '/pools', query: { poolid }, schema: poolDetailListSchema }))
      .data[0]!;
  }

  async qemuList(node: string): Promise<PveQemuListItem[]> {
    return (await this.call({ method: 'GET', path: `/nodes/${seg(node)}/qemu`, schema: z.array(qemuListItemSchema) }))
      .data;
  }

  async lxcList(node: string): Promise<PveLxcListItem[]> {
    return (await this.call({ method: 'GET', path: `/nodes/${seg(node)}/lxc`, schema: z.array(lxcListItemSchema) }))
      .data;
  }

  async guestStatus(node: string, type: PveGuestType, vmid: number): Promise<PveGuestStatus> {
    return (
      await this.call({
        method: 'GET',
        path: `/nodes/${seg(node)}/${guestType(type)}/${vmidSeg(vmid)}/status/current`,
        schema: guestStatusSchema,
      })
    ).data;
  }

  /** Starts a power action and returns the task's UPID. Never retried: a repeated POST could act twice. */
  async powerAction(
    node: string,
    type: PveGuestType,
    vmid: number,
    action: PvePowerAction,
    params: Params = {},
  ): Promise<string> {
    if (!['start', 'stop', 'shutdown', 'reboot', 'suspend', 'resume'].includes(action)) {
      throw AppError.badInput(`unknown power action ${JSON.stringify(action)}`);
    }
    return (
      await this.call({
        method: 'POST',
        path: `/nodes/${seg(node)}/${guestType(type)}/${vmidSeg(vmid)}/status/${action}`,
        form: params,
        schema: upidResultSchema,
      })
    ).data;
  }

  /** Idempotent: waits for in-flight requests, then closes every connection. */
  close(): Promise<void> {
    this.closing ??= this.agent.close().catch((err: unknown) => {
      this.logger?.warn({ err }, 'closing the PVE dispatcher failed');
    });
    return this.closing;
  }

  // ---- transport -------------------------------------------------------------------------------

  private async call<S extends z.ZodType>(call: Call<S>): Promise<{ data: z.output<S>; total: number | undefined }> {
    const endpoint = `${call.method} ${call.path}`;
    const context: PveErrorContext = { connection: this.connectionName, endpoint };
    const attempts = call.method === 'GET' ? 1 + this.retries : 1;
    let reloggedIn = false;
    for (let attempt = 1; ; attempt++) {
      if (this.closing) throw new PveUnreachableError(context, 'closed', 'the client is closed');
      let usedTicket: Ticket | undefined;
      try {
        let headers: Record<string, string> = {};
        if (call.authenticate !== false) ({ headers, ticket: usedTicket } = await this.authHeaders(call.method));
        return await this.limit(() => this.send(call, context, headers));
      } catch (err) {
        // A 401 with a ticket: the ticket expired or was revoked. The request was refused before any handler ran,
        // so a fresh login and one more try is safe even for POST. Only the refused ticket is dropped, so
        // concurrent 401s lead to one new login.
        if (err instanceof PveAuthError && usedTicket && !reloggedIn) {
          reloggedIn = true;
          if (this.ticket === usedTicket) this.ticket = undefined;
          this.logger?.warn({ endpoint }, 'PVE refused the ticket; logging in again');
          attempt--;
          continue;
        }
        if (!(err instanceof PveError) || !err.retryable || attempt >= attempts || this.closing) throw err;
        const delay = Math.random() * Math.min(MAX_BACKOFF_MS, this.retryBaseDelayMs * 2 ** (attempt - 1));
        this.logger?.warn(
          { endpoint, attempt, delayMs: Math.round(delay), err: err.message },
          'PVE request failed; retrying',
        );
        await sleep(delay);
      }
    }
  }

  private async send<S extends z.ZodType>(
    call: Call<S>,
    context: PveErrorContext,
    authHeaders: Record<string, string>,
  ): Promise<{ data: z.output<S>; total: number | undefined }> {
    const query = encodeParams(call.query);
    const path = `${this.basePath}${call.path}${query ? `?${query}` : ''}`;
    const headers: Record<string, string> = { accept: 'application/json', 'accept-encoding': 'gzip', ...authHeaders };
    let body: string | undefined;
    if (call.method === 'POST') {
      body = encodeParams(call.form);
      headers['content-type'] = 'application/x-www-form-urlencoded';
    }

    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, this.timeoutMs);
    let status: number;
    let statusText: string;
    let responseHeaders: Dispatcher.ResponseData['headers'];
    let raw: Buffer;
    try {
      let response: Dispatcher.ResponseData;
      try {
        response = await this.agent.request({
          origin: this.origin,
          path,
          method: call.method,
          headers,
          body,
          signal: controller.signal,
        });
      } catch (err) {
        throw this.transportError(context, err, timedOut, false);
      }
      status = response.statusCode;
      statusText = response.statusText;
      responseHeaders = response.headers;
      raw = await this.readBody(context, response, () => timedOut);
    } finally {
      clearTimeout(timer);
    }

    const decoded = decodeBody(context, raw, header(responseHeaders['content-encoding']), this.maxResponseBytes);
    const contentType = header(responseHeaders['content-type']);
    const text = decoded.toString('utf8');
    if (status >= 300) throw statusError(context, status, statusText, text);

    const json = parseJsonBody(context, text, contentType);
    const envelope = envelopeSchema.safeParse(json);
    if (!envelope.success || !('data' in (json as object))) {
      throw new PveResponseInvalidError(context, 'schema', 'data', ['the body is not a {"data": …} envelope']);
    }
    let total: number | undefined;
    if (call.total) {
      const parsedTotal = totalSchema.safeParse(envelope.data.total);
      if (!parsedTotal.success) throw schemaError(context, ['total'], parsedTotal.error);
      total = parsedTotal.data;
    }
    const data = call.schema.safeParse(envelope.data.data);
    if (!data.success) throw schemaError(context, ['data'], data.error);
    return { data: data.data, total };
  }

  private async readBody(
    context: PveErrorContext,
    response: Dispatcher.ResponseData,
    timedOut: () => boolean,
  ): Promise<Buffer> {
    const max = this.maxResponseBytes;
    const declared = Number(header(response.headers['content-length']) ?? Number.NaN);
    if (Number.isFinite(declared) && declared > max) {
      response.body.destroy();
      throw new PveResponseInvalidError(context, 'too-large', '', [
        `content-length ${declared} exceeds the limit of ${max} bytes`,
      ]);
    }
    const chunks: Buffer[] = [];
    let size = 0;
    try {
      for await (const chunk of response.body) {
        const buf = chunk as Buffer;
        size += buf.length;
        if (size > max) {
          throw new PveResponseInvalidError(context, 'too-large', '', [`body exceeds the limit of ${max} bytes`]);
        }
        chunks.push(buf);
      }
    } catch (err) {
      response.body.destroy();
      if (err instanceof PveError) throw err;
      throw this.transportError(context, err, timedOut(), true);
    }
    return Buffer.concat(chunks, size);
  }

  private transportError(context: PveErrorContext, err: unknown, timedOut: boolean, afterHeaders: boolean): PveError {
    if (err instanceof PveTlsFingerprintMismatchError)
      return new PveTlsFingerprintMismatchError(context, err.expected, err.actual);
    if (err instanceof PveError) return err;
    if (timedOut)
      return new PveUnreachableError(context, 'timeout', `no complete response within ${this.timeoutMs} ms`, err);
    const code = errorCode(err);
    const message = err instanceof Error ? err.message : String(err);
    if (code && NETWORK_CODES[code])
      return new PveUnreachableError(context, NETWORK_CODES[code], `${code}: ${message}`, err);
    if (code && /^(ERR_TLS|ERR_SSL|CERT_|DEPTH_ZERO|SELF_SIGNED|UNABLE_TO)/.test(code)) {
      return new PveUnreachableError(context, 'tls', `${code}: ${message}`, err);
    }
    return new PveUnreachableError(
      context,
      afterHeaders ? 'reset' : 'connect',
      code ? `${code}: ${message}` : message,
      err,
    );
  }

  // ---- authentication --------------------------------------------------------------------------

  private async authHeaders(method: 'GET' | 'POST'): Promise<{ headers: Record<string, string>; ticket?: Ticket }> {
    if (this.auth.kind === 'token')
      return { headers: { authorization: `PVEAPIToken=${this.auth.tokenId}=${this.auth.secret}` } };
    const ticket = await this.currentTicket();
    const headers: Record<string, string> = { cookie: `PVEAuthCookie=${encodeURIComponent(ticket.ticket)}` };
    if (method !== 'GET') headers.csrfpreventiontoken = ticket.csrf;
    return { headers, ticket };
  }

  private async currentTicket(): Promise<Ticket> {
    const ticket = this.ticket;
    if (ticket && this.now() - ticket.obtainedAt < TICKET_RENEW_AFTER_MS) return ticket;
    this.loginInFlight ??= this.login(ticket).finally(() => {
      this.loginInFlight = undefined;
    });
    return this.loginInFlight;
  }

  /** Renews a still-valid ticket (POSTing it as the password); otherwise, or when renewal fails, logs in with the password. */
  private async login(previous: Ticket | undefined): Promise<Ticket> {
    if (this.auth.kind !== 'ticket') throw new Error('login() needs ticket auth');
    if (previous && this.now() - previous.obtainedAt < TICKET_LIFETIME_MS) {
      try {
        return await this.requestTicket(previous.ticket);
      } catch (err) {
        if (!(err instanceof PveAuthError)) throw err;
        this.logger?.warn('ticket renewal refused; logging in with the password');
      }
    }
    return this.requestTicket(this.auth.password);
  }

  private async requestTicket(password: string): Promise<Ticket> {
    if (this.auth.kind !== 'ticket') throw new Error('requestTicket() needs ticket auth');
    const obtainedAt = this.now();
    const { data } = await this.call({
      method: 'POST',
      path: '/access/ticket',
      form: { username: this.auth.username, password },
      schema: ticketSchema,
      authenticate: false,
    });
    if (data.NeedTFA === 1 || data.NeedTFA === true) {
      throw new PveAuthError(
        { connection: this.connectionName, endpoint: 'POST /access/ticket' },
        'the account requires a second factor (TFA)',
      );
    }
    if (!data.CSRFPreventionToken) {
      throw new PveResponseInvalidError(
        { connection: this.connectionName, endpoint: 'POST /access/ticket' },
        'schema',
        'data.CSRFPreventionToken',
        ['data.CSRFPreventionToken: missing'],
      );
    }
    this.ticket = { ticket: data.ticket, csrf: data.CSRFPreventionToken, obtainedAt };
    return this.ticket;
  }
}

function statusError(context: PveErrorContext, status: number, statusText: string, text: string): PveError {
  let message = '';
  let paramErrors: Record<string, string> = {};
  try {
    const body = JSON.parse(text) as { message?: unknown; errors?: unknown };
    if (typeof body?.message === 'string') message = body.message;
    if (body?.errors && typeof body.errors === 'object') {
      paramErrors = Object.fromEntries(
        Object.entries(body.errors as Record<string, unknown>).map(([k, v]) => [k, String(v).trim()]),
      );
    }
  } catch {
    // PVE's authentication layer and proxies answer without a JSON body; the reason phrase is the message.
  }
  message = message.trim() || statusText.trim() || `HTTP ${status}`;
  if (status === 401) return new PveAuthError(context, message);
  if (status === 403) return new PvePermissionError(context, message);
  return new PveHttpError(context, status, message, paramErrors);
}

function encodeParams(params: Params | undefined): string {
  if (!params) return '';
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value === undefined) continue;
    search.append(key, typeof value === 'boolean' ? (value ? '1' : '0') : String(value));
  }
  return search.toString();
}

function seg(value: string): string {
  if (typeof value !== 'string' || value === '') throw AppError.badInput('a path parameter must be a non-empty string');
  return encodeURIComponent(value);
}

function vmidSeg(vmid: number): string {
  if (!Number.isInteger(vmid) || vmid < 1 || vmid > 999_999_999)
    throw AppError.badInput(`invalid vmid ${String(vmid)}`);
  return String(vmid);
}

function guestType(type: PveGuestType): PveGuestType {
  if (type !== 'qemu' && type !== 'lxc') throw AppError.badInput(`invalid guest type ${JSON.stringify(type)}`);
  return type;
}

function header(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function errorCode(err: unknown): string | undefined {
  let current: unknown = err;
  for (let depth = 0; depth < 4 && current && typeof current === 'object'; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}
