// One HTTPS listener per simulated cluster: PVE's transport (envelope, errors, 401 rules, reason
// phrases, gzip over 1 KiB, `Server: pve-api-daemon/3.0`), the fault knobs, and the /_sim control API.
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { gzipSync } from 'node:zlib';
import { type ClusterState } from '../model/cluster-state.ts';
import { type Rng } from '../rng.ts';
import { matchEndpoint, verifyParameters } from '../schema.ts';
import { type FaultSettings, scrambleTypes } from '../faults.ts';
import { handlers, capabilities } from './api.ts';
import { authenticate, type TicketAuthority, userState } from './auth.ts';
import { PveError } from './pve-error.ts';
import type { TlsMaterial } from './tls.ts';

export interface ServerDeps {
  state: ClusterState;
  tickets: TicketAuthority;
  faults: () => FaultSettings;
  faultRng: Rng;
  /** Delay of 401 answers (PVE: about 3 s after the request arrived). */
  authFailureDelayMs: number;
  powerTaskDurationS: number;
  /** The /_sim control API; returns undefined for unknown routes. */
  control: (req: IncomingMessage, path: string, body: unknown) => Promise<{ status: number; body: unknown }>;
  rootAuthorization: () => string;
  /** Called once per API request (`GET /nodes/pve1/tasks`, query string excluded). */
  countRequest?: (key: string) => void;
}

export interface ListeningServer {
  server: Server;
  port: number;
  setTls(tls: TlsMaterial): void;
  close(): Promise<void>;
}

const JSON_TYPE = 'application/json;charset=UTF-8';
const NO_AUTH = new Set(['GET /access/domains', 'GET /access/ticket', 'POST /access/ticket']);

export async function listen(deps: ServerDeps, tls: TlsMaterial, host: string, port: number): Promise<ListeningServer> {
  const sockets = new Set<Socket>();
  const server = createServer({ key: tls.key, cert: tls.cert }, (req, res) => {
    handle(deps, req, res).catch((err: unknown) => {
      if (!res.headersSent) {
        res.writeHead(500, 'Internal Server Error', { 'Content-Type': JSON_TYPE });
        res.end(JSON.stringify({ data: null, message: `${(err as Error).message}\n` }));
      } else res.destroy();
    });
  });
  server.on('secureConnection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  let closed: Promise<void> | undefined;
  return {
    server,
    port: typeof address === 'object' && address ? address.port : port,
    setTls: (t) => {
      server.setSecureContext({ key: t.key, cert: t.cert });
      // Existing keep-alive connections still speak the old certificate; drop them like a restarted pveproxy.
      for (const s of sockets) s.destroy();
    },
    close: () =>
      (closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
        server.closeAllConnections();
      })),
  };
}

/**
 * Resets the connection under `socket` the way a crashed proxy or a middlebox does: a TCP RST, no TLS
 * close_notify, no HTTP bytes (the client reads ECONNRESET). A TLS socket's handle is a TLSWrap, so its own
 * `resetAndDestroy()` throws ERR_INVALID_HANDLE_TYPE ("This handle type cannot be sent"); the TCP socket it
 * wraps (`_parent`) owns the TCP handle that can send the RST. `destroy()` alone would close with a FIN.
 */
function resetConnection(socket: Socket): void {
  const parent = (socket as Socket & { _parent?: unknown })._parent;
  const tcp = parent instanceof Socket ? parent : socket;
  // The reset surfaces as an error on both layers; the listener keeps it from becoming an uncaught one.
  tcp.on('error', () => {});
  if (!tcp.destroyed) {
    try {
      tcp.resetAndDestroy();
    } catch {
      // not a TCP handle (e.g. a pipe): fall back to a plain close below
    }
  }
  socket.destroy();
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function parseBody(req: IncomingMessage, text: string): Record<string, string> | 'invalid' {
  if (text === '') return {};
  const type = req.headers['content-type'] ?? '';
  if (type.includes('application/json')) {
    try {
      const obj = JSON.parse(text) as unknown;
      if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) return 'invalid';
      return Object.fromEntries(
        Object.entries(obj).map(([k, v]) => [k, typeof v === 'boolean' ? (v ? '1' : '0') : String(v)]),
      );
    } catch {
      return 'invalid';
    }
  }
  return Object.fromEntries(new URLSearchParams(text));
}

function reasonOf(message: string): string {
  const line = message.replace(/\n$/, '');
  return /[\r\n]/.test(line) ? 'Bad Request' : line;
}

function sendJson(
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  reason: string,
  payload: unknown,
  rawBody?: string,
): void {
  let body: Buffer = Buffer.from(rawBody ?? JSON.stringify(payload));
  const headers: Record<string, string | number> = {
    'Content-Type': JSON_TYPE,
    Server: 'pve-api-daemon/3.0',
    'Cache-Control': 'max-age=0',
    Pragma: 'no-cache',
    Expires: new Date().toUTCString(),
  };
  if (body.length > 1024 && /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''))) {
    body = gzipSync(body);
    headers['Content-Encoding'] = 'gzip';
  }
  headers['Content-Length'] = body.length;
  res.writeHead(status, reason, headers);
  res.end(body);
}

function clientIp(req: IncomingMessage): string {
  // pveproxy honours PROXY_REAL_IP_HEADER from trusted peers; the simulator trusts X-Forwarded-For
  // from loopback so tests can act from several client addresses.
  const fwd = req.headers['x-forwarded-for'];
  const first = (Array.isArray(fwd) ? fwd[0] : fwd)?.split(',')[0]?.trim();
  const ip = first || req.socket.remoteAddress || '';
  return ip.includes(':') ? ip : `::ffff:${ip}`;
}

async function handle(deps: ServerDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const arrived = Date.now();
  const { state } = deps;
  state.settle();
  const url = new URL(req.url ?? '/', 'https://sim.invalid');
  const method = (req.method ?? 'GET').toUpperCase();

  if (url.pathname.startsWith('/_sim/') || url.pathname === '/_sim') {
    if (req.headers.authorization !== deps.rootAuthorization()) {
      res.writeHead(401, 'No ticket', { 'Content-Length': 0 });
      res.end();
      return;
    }
    const text = await readBody(req);
    let body: unknown = {};
    if (text !== '') {
      try {
        body = JSON.parse(text);
      } catch {
        sendJson(req, res, 400, 'Bad Request', { error: 'body must be JSON' });
        return;
      }
    }
    const out = await deps.control(req, url.pathname.slice('/_sim'.length), body);
    sendJson(req, res, out.status, out.status === 200 ? 'OK' : 'Error', out.body);
    return;
  }

  const m = /^\/api2\/json(\/.*)?$/.exec(url.pathname);
  if (!m) {
    res.writeHead(501, 'Not Implemented', { 'Content-Length': 0, Server: 'pve-api-daemon/3.0' });
    res.end();
    return;
  }
  const relPath = (m[1] ?? '/').replace(/\/+$/, '') || '/';
  deps.countRequest?.(`${method} ${relPath}`);

  // ---- faults
  const f = deps.faults();
  const faulty = relPath.startsWith(f.pathPrefix);
  if (faulty) {
    if (f.resetRate > 0 && deps.faultRng.next() < f.resetRate) {
      resetConnection(req.socket);
      return;
    }
    if (f.latencyMs > 0) await sleep(f.latencyMs);
    if (f.http5xxRate > 0 && deps.faultRng.next() < f.http5xxRate) {
      const msg =
        f.http5xxStatus === 596
          ? 'Connection timed out'
          : f.http5xxStatus === 503
            ? 'Service Unavailable'
            : 'Internal Server Error';
      sendJson(req, res, f.http5xxStatus, msg, { data: null, message: `${msg}\n` });
      return;
    }
    if (f.htmlErrorPage) {
      const html =
        '<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n';
      res.writeHead(502, 'Bad Gateway', {
        'Content-Type': 'text/html',
        'Content-Length': Buffer.byteLength(html),
        Server: 'nginx',
      });
      res.end(html);
      return;
    }
  }

  const text = method === 'POST' || method === 'PUT' ? await readBody(req) : '';
  const key = `${method} ${relPath}`;

  // ---- authentication (before the handler lookup, like pveproxy)
  const noAuth = NO_AUTH.has(key);
  let subject;
  if (!noAuth) {
    const auth = authenticate(state, deps.tickets, req.headers, method);
    if (!auth.ok) {
      if (auth.logReason) state.addProxyAuthFailure(auth.logReason);
      const wait = deps.authFailureDelayMs - (Date.now() - arrived);
      if (wait > 0) await sleep(wait);
      res.writeHead(401, auth.reason, { 'Content-Length': 0, Server: 'pve-api-daemon/3.0' });
      res.end();
      return;
    }
    subject = auth.subject;
  }

  const endpoint = matchEndpoint(method, relPath);
  const handlerKey = endpoint ? `${method} ${endpoint.template}` : undefined;
  const handler = handlerKey ? handlers[handlerKey] : undefined;
  if (!endpoint?.info || (!handler && handlerKey !== 'POST /access/ticket' && handlerKey !== 'GET /access/ticket')) {
    const msg = `Method '${method} /${relPath.replace(/^\//, '')}' not implemented`;
    sendJson(req, res, 501, msg, { data: null, message: `${msg}\n` });
    return;
  }
  if (subject?.isToken && endpoint.info.allowtoken === 0) {
    const msg = `Permission check failed (URI '${relPath}' not available with API token, need proper ticket.\n)`;
    sendJson(req, res, 403, 'Permission check failed', { data: null, message: `${msg}\n` });
    return;
  }

  // ---- parameters
  const raw: Record<string, string> = {};
  if (method === 'GET' || method === 'DELETE') for (const [k, v] of url.searchParams) raw[k] = v;
  else {
    const body = parseBody(req, text);
    if (body === 'invalid') {
      sendJson(req, res, 400, 'Bad Request', { data: null, message: 'malformed JSON body\n' });
      return;
    }
    Object.assign(raw, body);
    for (const [k, v] of url.searchParams) raw[k] ??= v;
  }
  for (const [k, v] of Object.entries(endpoint.pathParams)) {
    if (raw[k] !== undefined && raw[k] !== v) {
      sendJson(req, res, 400, 'Parameter verification failed.', {
        data: null,
        message: 'Parameter verification failed.\n',
        errors: { [k]: 'parameter conflicts with path' },
      });
      return;
    }
    raw[k] = v;
  }
  const verified = verifyParameters(endpoint.info.parameters, raw);
  if (verified.errors) {
    sendJson(req, res, 400, 'Parameter verification failed.', {
      data: null,
      message: 'Parameter verification failed.\n',
      errors: verified.errors,
    });
    return;
  }

  // ---- handler
  let result: { data: unknown; total?: number };
  try {
    if (handlerKey === 'POST /access/ticket') result = await login(deps, req, verified.params, arrived);
    else if (handlerKey === 'GET /access/ticket') result = { data: null };
    else
      result = (handler as NonNullable<typeof handler>)({
        state,
        subject: subject as NonNullable<typeof subject>,
        params: verified.params,
        powerTaskDurationS: deps.powerTaskDurationS,
      });
  } catch (err) {
    if (err instanceof PveError) {
      const payload: Record<string, unknown> = { data: null, message: err.message };
      if (err.errors) payload.errors = err.errors;
      sendJson(req, res, err.status, reasonOf(err.message), payload);
      return;
    }
    const message = `${(err as Error).message}\n`;
    sendJson(req, res, 500, reasonOf(message), { data: null, message });
    return;
  }

  // ---- body faults
  let data = result.data;
  if (faulty && f.wrongFieldTypes) data = scrambleTypes(data);
  if (faulty && f.hugeResponseBytes > 0 && Array.isArray(data) && data.length > 0) {
    const unit = JSON.stringify(data).length / data.length;
    const copies = Math.ceil(f.hugeResponseBytes / Math.max(1, unit));
    const padded: unknown[] = [];
    for (let i = 0; i < copies; i++) padded.push(data[i % data.length]);
    data = padded;
  }
  const envelope: Record<string, unknown> = { data };
  if (result.total !== undefined) envelope.total = result.total;
  let rawBody: string | undefined;
  if (faulty && (f.truncateJson || f.invalidJson)) {
    const full = JSON.stringify(envelope);
    rawBody = f.truncateJson
      ? full.slice(0, Math.max(1, Math.floor(full.length / 2)))
      : full.replace(/^\{"data":/, '{"data":,').replace(/,"/, ',,"');
  }
  sendJson(req, res, 200, 'OK', envelope, rawBody);
}

/** POST /access/ticket (api-shapes.md: login, ticket renewal, verify mode). */
async function login(
  deps: ServerDeps,
  req: IncomingMessage,
  params: Record<string, string | number>,
  arrived: number,
): Promise<{ data: unknown }> {
  const { state, tickets } = deps;
  let username = String(params.username);
  if (params.realm !== undefined && !username.includes('@')) username = `${username}@${String(params.realm)}`;
  const password = String(params.password);
  const nowS = state.nowS();
  const fail = async (reason: string): Promise<never> => {
    state.addAuthFailure(username, clientIp(req), undefined, undefined, reason);
    const wait = deps.authFailureDelayMs - (Date.now() - arrived);
    if (wait > 0) await sleep(wait);
    throw new PveError(401, 'authentication failure');
  };
  let userid = username;
  const fromTicket = password.startsWith('PVE:') ? tickets.verifyTicket(password, nowS) : undefined;
  if (fromTicket !== undefined) {
    // Renewal: the ticket's user, or root@pam minting for another user.
    if (fromTicket !== username && fromTicket !== 'root@pam') return fail('invalid ticket');
  } else {
    const u = state.access.users.get(username);
    const bad = userState(state, username, nowS);
    if (!/^[^\s:/]+@[A-Za-z][A-Za-z0-9.\-_]+$/.test(username))
      return fail(`value '${username}' does not look like a valid user name`);
    if (bad) return fail(bad);
    if (!u?.password || u.password !== password)
      return fail(username.endsWith('@pam') ? 'Authentication failure' : 'invalid credentials');
    userid = username;
  }
  const bad = userState(state, userid, nowS);
  if (bad) return fail(bad);
  state.addLogin(userid, clientIp(req));
  if (params.path !== undefined && params.privs !== undefined) {
    const privs = String(params.privs)
      .split(/[,;\s]+/)
      .filter(Boolean);
    if (!state.perms.check(userid, String(params.path), privs)) throw new PveError(401, 'authentication failure');
    return { data: withClusterName(state, userid, { username: userid, cap: capabilities(state, userid) }) };
  }
  return {
    data: withClusterName(state, userid, {
      username: userid,
      ticket: tickets.mintTicket(userid, nowS),
      CSRFPreventionToken: tickets.mintCsrf(userid, nowS),
      cap: capabilities(state, userid),
    }),
  };
}

function withClusterName(state: ClusterState, userid: string, data: Record<string, unknown>): Record<string, unknown> {
  if (state.nodes.size > 1 && state.perms.hasPrivilege(userid, '/', 'Sys.Audit')) data.clustername = state.name;
  return data;
}
