// Transport tests: the client against a real local HTTPS server (node:https, self-signed certificates).
import { gzipSync } from 'node:zlib';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  PveAuthError,
  PveClient,
  PveError,
  PveHttpError,
  PvePermissionError,
  PveResponseInvalidError,
  PveTlsFingerprintMismatchError,
  PveUnreachableError,
  type PveClientOptions,
} from './index.ts';
import { caSignedCert, HttpsTestServer, json, selfSignedCert, type TestCert } from './testing/https-test-server.ts';

const TOKEN = { kind: 'token', tokenId: 'sync@pve!pvesync', secret: '2b5c0c5e-9c3f-4a32-9c1a-1d2f3e4a5b6c' } as const;
const TOKEN_HEADER = `PVEAPIToken=${TOKEN.tokenId}=${TOKEN.secret}`;
const VERSION = { data: { version: '9.1.1', release: '9.1', repoid: '0a1b2c3d' } };
const UPID = 'UPID:pve1:0003A1F2:0B2C4D11:69230A00:qmstart:100:sync@pve!pvesync:';

let certA: TestCert;
let certB: TestCert;
let server: HttpsTestServer;
const clients: PveClient[] = [];

function client(overrides: Partial<PveClientOptions> = {}): PveClient {
  const c = new PveClient({
    connectionName: 'alpha',
    baseUrl: server.url,
    auth: TOKEN,
    fingerprint: certA.fingerprint,
    timeoutMs: 2_000,
    retries: 0,
    retryBaseDelayMs: 1,
    ...overrides,
  });
  clients.push(c);
  return c;
}

async function failure(promise: Promise<unknown>): Promise<PveError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(PveError);
    return err as PveError;
  }
  throw new Error('expected the call to fail');
}

beforeAll(async () => {
  [certA, certB] = await Promise.all([selfSignedCert('node-a'), selfSignedCert('node-b')]);
  server = await HttpsTestServer.start(certA);
  server.handler = (_req, res) => json(res, 200, VERSION);
});

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  server.requests.length = 0;
  server.connections = 0;
  server.maxInFlight = 0;
  server.swapCertificate(certA);
  server.handler = (_req, res) => json(res, 200, VERSION);
});

afterAll(async () => {
  await server.close();
});

describe('TLS fingerprint pinning', () => {
  it('connects when the fingerprint matches and sends the API token', async () => {
    await expect(client().version()).resolves.toMatchObject({ version: '9.1.1', release: '9.1' });
    expect(server.requests).toHaveLength(1);
    expect(server.requests[0]!.url).toBe('/api2/json/version');
    expect(server.requests[0]!.headers.authorization).toBe(TOKEN_HEADER);
  });

  it('accepts the fingerprint in any case and with any separators', async () => {
    const bare = certA.fingerprint.replace(/:/g, '').toLowerCase();
    await expect(client({ fingerprint: bare }).version()).resolves.toMatchObject({ release: '9.1' });
    const dashed = certA.fingerprint.replace(/:/g, '-');
    await expect(client({ fingerprint: dashed }).version()).resolves.toMatchObject({ release: '9.1' });
  });

  it('refuses a server with another certificate before sending any request byte (no token leaks)', async () => {
    const err = await failure(client({ fingerprint: certB.fingerprint, retries: 3 }).version());
    expect(err).toBeInstanceOf(PveTlsFingerprintMismatchError);
    const mismatch = err as PveTlsFingerprintMismatchError;
    expect(mismatch.expected).toBe(certB.fingerprint);
    expect(mismatch.actual).toBe(certA.fingerprint);
    expect(mismatch.code).toBe('PVE_TLS_FINGERPRINT_MISMATCH');
    expect(mismatch.message).toContain('alpha: GET /version');
    expect(server.connections).toBe(1); // the client did connect, once (a mismatch is not retried)
    expect(server.requests).toHaveLength(0); // ...but no request, so no Authorization header, reached the server
  });

  it('detects a certificate change during the client’s life', async () => {
    const c = client({ retries: 2 }); // the swap drops the kept-alive connection; a retry meets the new cert
    await c.version();
    expect(server.requests).toHaveLength(1);
    server.swapCertificate(certB);
    const err = await failure(c.version());
    expect(err).toBeInstanceOf(PveTlsFingerprintMismatchError);
    expect((err as PveTlsFingerprintMismatchError).actual).toBe(certB.fingerprint);
    expect(server.requests).toHaveLength(1);
  });

  it('refuses a malformed fingerprint at construction', () => {
    expect(() => client({ fingerprint: 'AB:CD' })).toThrow(/SHA-256/);
  });

  it('without a pin, rejects a self-signed certificate (not retryable)', async () => {
    const c = new PveClient({
      connectionName: 'alpha',
      baseUrl: server.url,
      auth: TOKEN,
      retries: 2,
      retryBaseDelayMs: 1,
    });
    clients.push(c);
    const err = await failure(c.version());
    expect(err).toBeInstanceOf(PveUnreachableError);
    expect((err as PveUnreachableError).reason).toBe('tls');
    expect(err.retryable).toBe(false);
    expect(server.requests).toHaveLength(0);
  });

  it('validates against a given CA instead of a pin', async () => {
    const { ca, leaf } = await caSignedCert();
    const caServer = await HttpsTestServer.start(leaf);
    try {
      caServer.handler = (_req, res) => json(res, 200, VERSION);
      const c = new PveClient({ connectionName: 'ca', baseUrl: caServer.url, auth: TOKEN, ca });
      clients.push(c);
      await expect(c.version()).resolves.toMatchObject({ version: '9.1.1' });
      const wrongCa = new PveClient({
        connectionName: 'ca',
        baseUrl: caServer.url,
        auth: TOKEN,
        ca: certA.cert,
        retries: 0,
      });
      clients.push(wrongCa);
      expect(await failure(wrongCa.version())).toBeInstanceOf(PveUnreachableError);
      expect(caServer.requests).toHaveLength(1);
    } finally {
      await caServer.close();
    }
  });
});

describe('timeouts, retries and concurrency', () => {
  it('times out a request that gets no answer', async () => {
    server.handler = () => undefined; // never answers
    const err = await failure(client({ timeoutMs: 300 }).version());
    expect(err).toBeInstanceOf(PveUnreachableError);
    expect((err as PveUnreachableError).reason).toBe('timeout');
    expect(err.retryable).toBe(true);
  });

  it('times out a body that stalls halfway', async () => {
    server.handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': 100 });
      res.write('{"data":');
    };
    const err = await failure(client({ timeoutMs: 300 }).version());
    expect(err).toBeInstanceOf(PveUnreachableError);
    expect((err as PveUnreachableError).reason).toBe('timeout');
  });

  it('retries a GET after a connection reset, a 503 and a 596, with backoff, until it succeeds', async () => {
    let n = 0;
    server.handler = (req, res) => {
      n++;
      if (n === 1) return void req.socket.destroy();
      if (n === 2) return json(res, 503, { data: null, message: 'service unavailable\n' });
      if (n === 3) return json(res, 596, { data: null, message: 'Connection timed out\n' }); // pveproxy: node unreachable
      json(res, 200, VERSION);
    };
    await expect(client({ retries: 3 }).version()).resolves.toMatchObject({ version: '9.1.1' });
    expect(server.requests).toHaveLength(4);
  });

  it('gives up after the configured number of retries', async () => {
    server.handler = (req) => void req.socket.destroy();
    const err = await failure(client({ retries: 2 }).version());
    expect(err).toBeInstanceOf(PveUnreachableError);
    expect((err as PveUnreachableError).reason).toBe('reset');
    expect(server.requests).toHaveLength(3);
  });

  it('does not retry a 500 (a handler failure is deterministic)', async () => {
    server.handler = (_req, res) => json(res, 500, { data: null, message: "no such user ('x@pve')\n" });
    expect(await failure(client({ retries: 3 }).users())).toBeInstanceOf(PveHttpError);
    expect(server.requests).toHaveLength(1);
  });

  it('never retries a POST power action', async () => {
    server.handler = (req) => void req.socket.destroy();
    const err = await failure(client({ retries: 5 }).powerAction('pve1', 'qemu', 100, 'start'));
    expect(err).toBeInstanceOf(PveUnreachableError);
    expect(server.requests).toHaveLength(1);
  });

  it.each([1, 3])('keeps at most %i requests in flight per connection', async (concurrency) => {
    server.handler = (_req, res) => void setTimeout(() => json(res, 200, VERSION), 30);
    const c = client({ concurrency });
    await Promise.all(Array.from({ length: 10 }, () => c.version()));
    expect(server.requests).toHaveLength(10);
    expect(server.maxInFlight).toBe(concurrency);
  });

  it('reports a refused connection as unreachable (connect)', async () => {
    const closed = await HttpsTestServer.start(certA);
    const url = closed.url;
    await closed.close();
    const c = client({ baseUrl: url });
    const err = await failure(c.version());
    expect(err).toBeInstanceOf(PveUnreachableError);
    expect((err as PveUnreachableError).reason).toBe('connect');
  });

  it('reports a connection reset mid-body as unreachable (reset)', async () => {
    server.handler = (req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': 1000 });
      res.write('{"data":[{"node":"pve1",');
      setImmediate(() => req.socket.destroy());
    };
    const err = await failure(client().nodes());
    expect(err).toBeInstanceOf(PveUnreachableError);
    expect((err as PveUnreachableError).reason).toBe('reset');
  });
});

describe('status mapping', () => {
  it('401 without a body → PveAuthError carrying the reason phrase', async () => {
    server.handler = (_req, res) => {
      res.writeHead(401, 'Authentication failed!');
      res.end();
    };
    const err = await failure(client().version());
    expect(err).toBeInstanceOf(PveAuthError);
    expect(err.code).toBe('PVE_AUTH_FAILED');
    expect((err as PveAuthError).pveMessage).toBe('Authentication failed!');
  });

  it('403 → PvePermissionError with the ACL path and privileges', async () => {
    server.handler = (_req, res) =>
      json(res, 403, { data: null, message: 'Permission check failed (/vms/100, VM.PowerMgmt|VM.Allocate)\n' });
    const err = await failure(client().powerAction('pve1', 'qemu', 100, 'stop'));
    expect(err).toBeInstanceOf(PvePermissionError);
    const perm = err as PvePermissionError;
    expect(perm.pveMessage).toBe('Permission check failed (/vms/100, VM.PowerMgmt|VM.Allocate)');
    expect(perm.aclPath).toBe('/vms/100');
    expect(perm.privileges).toEqual(['VM.PowerMgmt', 'VM.Allocate']);
    expect(perm.message).toContain('alpha: POST /nodes/pve1/qemu/100/status/stop');
  });

  it('400 → PveHttpError with the parameter errors', async () => {
    server.handler = (_req, res) =>
      json(
        res,
        400,
        {
          data: null,
          message: 'Parameter verification failed.\n',
          errors: { vmid: 'value must have a minimum value of 100\n' },
        },
        'Parameter verification failed.',
      );
    const err = await failure(client().nodeTasks('pve1', { vmid: 5 }));
    expect(err).toBeInstanceOf(PveHttpError);
    const http = err as PveHttpError;
    expect(http.status).toBe(400);
    expect(http.pveMessage).toBe('Parameter verification failed.');
    expect(http.paramErrors).toEqual({ vmid: 'value must have a minimum value of 100' });
    expect(http.retryable).toBe(false);
  });

  it('500 → PveHttpError with PVE’s message; 501 too', async () => {
    server.handler = (_req, res) => json(res, 500, { data: null, message: "pool 'nope' does not exist\n" });
    const err = (await failure(client().pool('nope'))) as PveHttpError;
    expect(err).toBeInstanceOf(PveHttpError);
    expect([err.status, err.pveMessage]).toEqual([500, "pool 'nope' does not exist"]);
    server.handler = (_req, res) => json(res, 501, { data: null, message: "Method 'GET /foo' not implemented" });
    expect(((await failure(client().version())) as PveHttpError).status).toBe(501);
  });
});

describe('response validation', () => {
  const respond = (body: string | Buffer, headers: Record<string, string> = { 'content-type': 'application/json' }) => {
    server.handler = (_req, res) => {
      res.writeHead(200, headers);
      res.end(body);
    };
  };

  it('invalid JSON → PveResponseInvalidError (not-json)', async () => {
    respond('{"data": [1, 2,, 3]}');
    const err = (await failure(client().nodes())) as PveResponseInvalidError;
    expect(err).toBeInstanceOf(PveResponseInvalidError);
    expect(err.problem).toBe('not-json');
    expect(err.code).toBe('PVE_RESPONSE_INVALID');
    expect(err.connection).toBe('alpha');
    expect(err.endpoint).toBe('GET /nodes');
  });

  it('truncated JSON (complete HTTP framing) → truncated', async () => {
    respond('{"data":[{"node":"pve1","status":"onl');
    expect(((await failure(client().nodes())) as PveResponseInvalidError).problem).toBe('truncated');
  });

  it('an HTML error page → html, with its title', async () => {
    respond('<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>', {
      'content-type': 'text/html',
    });
    const err = (await failure(client().nodes())) as PveResponseInvalidError;
    expect(err.problem).toBe('html');
    expect(err.message).toContain('502 Bad Gateway');
  });

  it('wrong field types name the endpoint, the field and the connection', async () => {
    respond(
      JSON.stringify({
        data: [
          { vmid: 100, status: 'running' },
          { vmid: 'abc', status: 'running', template: 'yes' },
        ],
      }),
    );
    const err = (await failure(client().qemuList('pve1'))) as PveResponseInvalidError;
    expect(err.problem).toBe('schema');
    expect(err.field).toBe('data[1].vmid');
    expect(err.issues.some((i) => i.startsWith('data[1].template:'))).toBe(true);
    expect(err.message).toContain('[alpha: GET /nodes/pve1/qemu]');
  });

  // Found by the bad-input suite (simulator hugeResponse knob): repeated /cluster/resources entries
  // reached pve-sync, whose upsert failed with an INTERNAL "ON CONFLICT … cannot affect row a second time".
  it('regression: repeated /cluster/resources entries are an invalid response, not an internal error', async () => {
    const guest = { id: 'qemu/100', type: 'qemu', vmid: 100, node: 'pve1', status: 'running' };
    respond(
      JSON.stringify({ data: [guest, { id: 'node/pve1', type: 'node', node: 'pve1', status: 'online' }, guest] }),
    );
    const err = (await failure(client().clusterResources())) as PveResponseInvalidError;
    expect(err.code).toBe('PVE_RESPONSE_INVALID');
    expect(err.problem).toBe('schema');
    expect(err.field).toBe('data[2].id');
    expect(err.message).toContain("duplicate resource id 'qemu/100'");
  });

  it('a missing required field, a missing envelope and a missing total are each refused', async () => {
    respond(JSON.stringify({ data: { release: '9.1', repoid: 'ab' } }));
    expect(((await failure(client().version())) as PveResponseInvalidError).field).toBe('data.version');
    respond(JSON.stringify([{ node: 'pve1', status: 'online' }]));
    expect(((await failure(client().nodes())) as PveResponseInvalidError).field).toBe('data');
    respond(JSON.stringify({ data: [] }));
    expect(((await failure(client().nodeTasks('pve1'))) as PveResponseInvalidError).field).toBe('total');
  });

  it('unknown extra fields are allowed and kept', async () => {
    respond(JSON.stringify({ data: { version: '9.2.1', release: '9.2', repoid: 'ab12cd34', 'new-field': [1] } }));
    await expect(client().version()).resolves.toMatchObject({ 'new-field': [1] });
  });

  it('a huge body is refused: by content-length, and by counting when the length is not declared', async () => {
    const big = JSON.stringify({ data: Array.from({ length: 2000 }, (_, i) => ({ node: `n${i}`, status: 'online' })) });
    respond(big, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(big)) });
    const declared = (await failure(client({ maxResponseBytes: 10_000 }).nodes())) as PveResponseInvalidError;
    expect(declared.problem).toBe('too-large');
    server.handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' }); // chunked
      for (let i = 0; i < 20; i++) res.write(big.slice(i * 5000, (i + 1) * 5000));
      res.end(big.slice(100_000));
    };
    const counted = (await failure(client({ maxResponseBytes: 10_000 }).nodes())) as PveResponseInvalidError;
    expect(counted.problem).toBe('too-large');
    await expect(client({ maxResponseBytes: 1_000_000 }).nodes()).resolves.toHaveLength(2000);
  });

  it('decompresses gzip bodies and refuses one that expands beyond the limit', async () => {
    const body = JSON.stringify({ data: Array.from({ length: 500 }, (_, i) => ({ node: `n${i}`, status: 'online' })) });
    respond(gzipSync(body), { 'content-type': 'application/json', 'content-encoding': 'gzip' });
    await expect(client().nodes()).resolves.toHaveLength(500);
    expect(server.requests[0]!.headers['accept-encoding']).toBe('gzip');
    respond(gzipSync(Buffer.alloc(5_000_000, 0x20)), {
      'content-type': 'application/json',
      'content-encoding': 'gzip',
    });
    expect(((await failure(client({ maxResponseBytes: 100_000 }).nodes())) as PveResponseInvalidError).problem).toBe(
      'too-large',
    );
  });

  it('tolerates the unescaped backslashes the cluster log emits (formats.md §4.3)', async () => {
    const entry =
      '{"uid":7,"time":1763904061,"pri":6,"tag":"pvedaemon","pid":2114,"node":"pve1","user":"root@pam","msg":"path C:\\data \\"quoted\\"","id":"7:pve1"}';
    respond(`{"data":[${entry}]}`);
    const [log] = await client().clusterLog(10);
    expect(log!.msg).toBe('path C:\\data "quoted"');
    expect(server.requests[0]!.url).toBe('/api2/json/cluster/log?max=10');
  });

  it('a power action must return a UPID', async () => {
    server.handler = (_req, res) => json(res, 200, { data: 'not-a-upid' });
    expect(
      ((await failure(client().powerAction('pve1', 'lxc', 101, 'shutdown'))) as PveResponseInvalidError).field,
    ).toBe('data');
  });
});

describe('requests', () => {
  it('sends node task filters as query parameters and returns the envelope total', async () => {
    server.handler = (_req, res) =>
      json(res, 200, {
        total: 120,
        data: [
          {
            upid: UPID,
            node: 'pve1',
            pid: 0x3a1f2,
            pstart: 0xb2c4d11,
            starttime: 0x69230a00,
            type: 'qmstart',
            id: '100',
            user: 'sync@pve',
            tokenid: 'pvesync',
            status: 'OK',
            endtime: 0x69230a05,
          },
        ],
      });
    const result = await client().nodeTasks('pve1', {
      since: 1763900000,
      source: 'all',
      limit: 50,
      start: 50,
      errors: true,
      userfilter: 'sync',
    });
    expect(result.total).toBe(120);
    expect(result.data[0]).toMatchObject({ tokenid: 'pvesync', status: 'OK' });
    const url = new URL(server.requests[0]!.url, 'https://x');
    expect(url.pathname).toBe('/api2/json/nodes/pve1/tasks');
    expect(Object.fromEntries(url.searchParams)).toEqual({
      since: '1763900000',
      source: 'all',
      limit: '50',
      start: '50',
      errors: '1',
      userfilter: 'sync',
    });
  });

  it('encodes the UPID path segment and splits journal cursors from lines', async () => {
    server.handler = (req, res) => {
      if (req.url!.includes('/journal'))
        return json(res, 200, { data: ['s=cursor-1', 'Nov 23 14:21:10 pve1 sshd[1]: hello', 'e=cursor-2'] });
      json(res, 200, {
        total: 2,
        data: [
          { n: 1, t: 'starting' },
          { n: 2, t: 'TASK OK' },
        ],
      });
    };
    const c = client();
    const log = await c.taskLog('pve1', UPID, { start: 0, limit: 0 });
    expect(log).toEqual({
      total: 2,
      lines: [
        { n: 1, t: 'starting' },
        { n: 2, t: 'TASK OK' },
      ],
    });
    expect(decodeURIComponent(server.requests[0]!.url)).toBe(`/api2/json/nodes/pve1/tasks/${UPID}/log?start=0&limit=0`);
    const journal = await c.journal('pve1', { startcursor: 'e=cursor-0' });
    expect(journal).toEqual({
      startCursor: 's=cursor-1',
      endCursor: 'e=cursor-2',
      lines: ['Nov 23 14:21:10 pve1 sshd[1]: hello'],
    });
  });

  it('posts power-action parameters as a form and returns the UPID', async () => {
    server.handler = (_req, res) => json(res, 200, { data: UPID });
    await expect(client().powerAction('pve1', 'qemu', 100, 'shutdown', { timeout: 60, forceStop: true })).resolves.toBe(
      UPID,
    );
    const req = server.requests[0]!;
    expect([req.method, req.url, req.body]).toEqual([
      'POST',
      '/api2/json/nodes/pve1/qemu/100/status/shutdown',
      'timeout=60&forceStop=1',
    ]);
    expect(req.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(req.headers.csrfpreventiontoken).toBeUndefined();
  });

  it('refuses invalid arguments before sending anything', async () => {
    const c = client();
    await expect(c.guestStatus('pve1', 'qemu', 0)).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
    await expect(c.powerAction('pve1', 'lxc', 100, 'reset' as 'start')).rejects.toMatchObject({
      code: 'BAD_USER_INPUT',
    });
    expect(server.requests).toHaveLength(0);
  });

  it('close() is idempotent and later calls fail with a typed error', async () => {
    const c = client();
    await c.version();
    await Promise.all([c.close(), c.close()]);
    await c.close();
    const err = await failure(c.version());
    expect((err as PveUnreachableError).reason).toBe('closed');
  });
});

describe('ticket authentication', () => {
  const TICKET_1 = 'PVE:alice@pve:69230A00::c2lnbmF0dXJlMQ==';
  const TICKET_2 = 'PVE:alice@pve:69231810::c2lnbmF0dXJlMg==';

  function ticketServer(opts: { refuseRenewal?: boolean } = {}) {
    const valid = new Set<string>();
    let issued = 0;
    server.handler = (req, res, body) => {
      const url = new URL(req.url!, 'https://x');
      if (url.pathname === '/api2/json/access/ticket') {
        const form = new URLSearchParams(body);
        const password = form.get('password');
        const ok =
          form.get('username') === 'alice@pve' &&
          (password === 's3cret' || (!opts.refuseRenewal && password !== null && valid.has(password)));
        if (!ok) return json(res, 401, { data: null, message: 'authentication failure\n' });
        const ticket = issued++ === 0 ? TICKET_1 : TICKET_2;
        valid.add(ticket);
        return json(res, 200, {
          data: { username: 'alice@pve', ticket, CSRFPreventionToken: `69230A00:csrf${issued}`, cap: {} },
        });
      }
      const cookie = /PVEAuthCookie=([^;]+)/.exec(req.headers.cookie ?? '')?.[1];
      if (!cookie || !valid.has(decodeURIComponent(cookie))) {
        res.writeHead(401, 'No ticket');
        return void res.end();
      }
      if (req.method !== 'GET' && !String(req.headers.csrfpreventiontoken ?? '').startsWith('69230A00:csrf')) {
        res.writeHead(401, 'Permission denied - invalid csrf token');
        return void res.end();
      }
      if (req.method === 'POST') return json(res, 200, { data: UPID });
      json(res, 200, VERSION);
    };
    return { revokeAll: () => valid.clear() };
  }

  it('logs in once, sends the cookie, and the CSRF token on POST', async () => {
    ticketServer();
    const c = client({ auth: { kind: 'ticket', username: 'alice@pve', password: 's3cret' } });
    await Promise.all([c.version(), c.version(), c.version()]);
    await expect(c.powerAction('pve1', 'qemu', 100, 'start')).resolves.toBe(UPID);
    const logins = server.requests.filter((r) => r.url === '/api2/json/access/ticket');
    expect(logins).toHaveLength(1);
    expect(logins[0]!.body).toBe('username=alice%40pve&password=s3cret');
    const post = server.requests.find((r) => r.method === 'POST' && r.url.includes('/status/start'))!;
    expect(post.headers.csrfpreventiontoken).toBe('69230A00:csrf1');
    expect(post.headers.authorization).toBeUndefined();
  });

  it('renews the ticket before it expires, using the ticket as the password', async () => {
    ticketServer();
    let now = 1_000_000;
    const c = client({ auth: { kind: 'ticket', username: 'alice@pve', password: 's3cret' }, now: () => now });
    await c.version();
    now += 61 * 60 * 1000;
    await c.version();
    const logins = server.requests.filter((r) => r.url === '/api2/json/access/ticket');
    expect(logins.map((l) => new URLSearchParams(l.body).get('password'))).toEqual(['s3cret', TICKET_1]);
    expect(server.requests.at(-1)!.headers.cookie).toBe(`PVEAuthCookie=${encodeURIComponent(TICKET_2)}`);
  });

  it('falls back to the password when renewal is refused, and logs in again after a 401', async () => {
    const auth = ticketServer({ refuseRenewal: true });
    let now = 1_000_000;
    const c = client({ auth: { kind: 'ticket', username: 'alice@pve', password: 's3cret' }, now: () => now });
    await c.version();
    now += 61 * 60 * 1000;
    await c.version();
    auth.revokeAll();
    await Promise.all([c.version(), c.version(), c.version()]); // three 401s, one new login
    const passwords = server.requests
      .filter((r) => r.url === '/api2/json/access/ticket')
      .map((l) => new URLSearchParams(l.body).get('password'));
    expect(passwords).toEqual(['s3cret', TICKET_1, 's3cret', 's3cret']);
  });

  it('a wrong password is a PveAuthError from the login', async () => {
    ticketServer();
    const err = await failure(client({ auth: { kind: 'ticket', username: 'alice@pve', password: 'wrong' } }).version());
    expect(err).toBeInstanceOf(PveAuthError);
    expect(err.endpoint).toBe('POST /access/ticket');
    expect((err as PveAuthError).pveMessage).toBe('authentication failure');
  });
});
