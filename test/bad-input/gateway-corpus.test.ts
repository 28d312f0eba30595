// Issue 8, point 4 (gateway side): a corpus of bad input against the running gateway — malformed
// documents and bodies, oversize bodies, deep/expensive/alias-bombed queries, forged ids and
// cursors, and unicode in every string input of every mutation (enumerated from introspection).
// Every answer is a clear client error (never a 5xx or INTERNAL), and afterwards the gateway still
// answers /healthz with no crash and no masked error in its log.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { eventually } from '../src/harness.ts';
import { plan, stringInputs, type Probe } from '../isolation/lib/args.ts';
import { call, codes, data, loginAs, type Caller } from '../isolation/lib/client.ts';
import { globalId, randomId, type ProbeKind } from '../isolation/lib/ids.ts';
import { INTROSPECTION_QUERY, Schema, namedType, type RootField } from '../isolation/lib/schema.ts';
import { crashLines, startFuzzStack, type FuzzStack } from '../isolation/lib/stack.ts';

let stack: FuzzStack;
let schema: Schema;
let roots: RootField[];
let admin: Caller;
let adminInA: Caller;
let acmeAdmin: Caller;
const own = new Map<ProbeKind, string>();
/** Every answer that was a server error, by case. */
const serverErrors: string[] = [];

/** Unicode mutations the gateway accepted: their audit records must arrive with the text intact. */
const acceptedWrites: Array<{ requestId: string; where: string; text: string }> = [];

beforeAll(async () => {
  stack = await startFuzzStack('badinput', {
    env: { LOGIN_IP_LIMIT: '100000', LOGIN_MAX_FAILURES: '100000' },
  });
  const url = stack.gatewayUrl;
  const a = stack.login('acme-admin');
  admin = await loginAs(url, 'admin', stack.login('admin').password);
  adminInA = { ...admin, name: 'admin@acme', tenantId: a.tenant!.id };
  acmeAdmin = await loginAs(url, a.username, a.password, a.tenant!.id);
  const intro = await data<{ __schema: ConstructorParameters<typeof Schema>[0] }>(url, admin, INTROSPECTION_QUERY);
  schema = new Schema(intro.__schema);
  roots = schema.rootFields();
  own.set('Tenant', globalId('Tenant', a.tenant!.id));
}, 180_000);

afterAll(async () => {
  await stack?.stop();
});

interface RawRequest {
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  who?: Caller | null;
}

async function raw(r: RawRequest): Promise<{ status: number; type: string; text: string; json: any }> {
  const headers: Record<string, string> = { ...(r.headers ?? { 'content-type': 'application/json' }) };
  const who = r.who === undefined ? acmeAdmin : r.who;
  if (who?.token) headers.authorization = `Bearer ${who.token}`;
  if (who?.tenantId) headers['x-tenant-id'] = who.tenantId;
  const res = await fetch(`${stack.baseUrl}${r.path ?? '/graphql'}`, {
    method: r.method ?? 'POST',
    headers,
    ...(r.body !== undefined ? { body: r.body } : {}),
  });
  const text = await res.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, type: res.headers.get('content-type') ?? '', text, json };
}

const gql = (query: string, variables: Record<string, unknown> = {}) => JSON.stringify({ query, variables });

/** A clear client error: 4xx, JSON, an `extensions.code` from the expected set, no stack trace. */
function expectClientError(name: string, r: Awaited<ReturnType<typeof raw>>, allowed: string[], status?: number) {
  if (r.status >= 500) serverErrors.push(`${name}: ${r.status} ${r.text.slice(0, 200)}`);
  expect(r.status, `${name}: ${r.text.slice(0, 300)}`).toBeLessThan(500);
  if (status) expect(r.status, name).toBe(status);
  expect(r.type, `${name}: content type`).toMatch(/application\/(graphql-response\+)?json/);
  expect(r.text, `${name}: no stack traces or file paths`).not.toMatch(/\bat [\w.<>]+ \(|\/work\/|node_modules/);
  const c = codes(r.json);
  expect(c.length, `${name}: ${r.text.slice(0, 300)}`).toBeGreaterThan(0);
  for (const code of c) expect(allowed, `${name}: ${r.text.slice(0, 300)}`).toContain(code);
}

describe('malformed GraphQL requests', () => {
  const VALIDATION = ['GRAPHQL_VALIDATION_FAILED'];
  const INPUT = ['BAD_USER_INPUT'];
  const PARSE = ['GRAPHQL_PARSE_FAILED'];
  const REQUEST = ['BAD_REQUEST'];
  const OPERATION = ['OPERATION_RESOLUTION_FAILURE'];
  const q =
    (query: string, variables: Record<string, unknown> = {}) =>
    () => ({ body: gql(query, variables) });
  const body = (text: string) => () => ({ body: text });
  const cases: Array<{ name: string; req: () => RawRequest; codes: string[]; status?: number }> = [
    { name: 'syntax error', req: q('{ me { id }'), codes: PARSE, status: 400 },
    { name: 'lexer error', req: q('{ me { id ¤ } }'), codes: PARSE, status: 400 },
    { name: 'empty document', req: q(''), codes: REQUEST, status: 400 },
    { name: 'query is not a string', req: body(JSON.stringify({ query: { a: 1 } })), codes: REQUEST, status: 400 },
    { name: 'no query at all', req: body('{}'), codes: REQUEST, status: 400 },
    { name: 'unknown field', req: q('{ nope }'), codes: VALIDATION, status: 400 },
    { name: 'unknown argument', req: q('{ me(x: 1) { id } }'), codes: VALIDATION, status: 400 },
    { name: 'scalar with a selection', req: q('{ me { id { x } } }'), codes: VALIDATION, status: 400 },
    {
      name: 'wrong variable type',
      req: q('query ($n: Int) { resources(first: $n) { edges { cursor } } }', { n: 'abc' }),
      codes: INPUT,
      status: 400,
    },
    {
      name: 'null for a non-null variable',
      req: q('query ($id: ID!) { resource(id: $id) { id } }', { id: null }),
      codes: INPUT,
      status: 400,
    },
    {
      name: 'missing required variable',
      req: q('query ($id: ID!) { resource(id: $id) { id } }'),
      codes: INPUT,
      status: 400,
    },
    {
      name: 'variables is not an object',
      req: body(JSON.stringify({ query: '{ me { id } }', variables: [1, 2] })),
      codes: REQUEST,
      status: 400,
    },
    {
      name: 'Int out of 32-bit range',
      req: q('query ($n: Int) { resources(first: $n) { edges { cursor } } }', { n: 2 ** 40 }),
      codes: INPUT,
      status: 400,
    },
    {
      name: 'unknown enum value',
      req: q('mutation ($id: ID!) { powerAction(resourceId: $id, action: explode) { upid } }', { id: 'x' }),
      codes: VALIDATION,
      status: 400,
    },
    {
      name: 'two operations without operationName',
      req: q('query A { me { id } } query B { me { id } }'),
      codes: OPERATION,
      status: 400,
    },
    {
      name: 'unknown operationName',
      req: body(JSON.stringify({ query: 'query A { me { id } }', operationName: 'Z' })),
      codes: OPERATION,
      status: 400,
    },
    {
      name: 'batched array (batching is off)',
      req: body(JSON.stringify([{ query: '{ me { id } }' }, { query: '{ me { id } }' }])),
      codes: REQUEST,
      status: 400,
    },
    {
      name: 'GET mutation',
      req: () => ({
        method: 'GET',
        path: `/graphql?query=${encodeURIComponent('mutation { logout }')}`,
        headers: { 'apollo-require-preflight': '1' },
      }),
      codes: REQUEST,
      status: 405,
    },
    {
      name: 'text/plain body (CSRF prevention)',
      req: () => ({ headers: { 'content-type': 'text/plain' }, body: gql('{ me { id } }') }),
      codes: REQUEST,
      status: 400,
    },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const r = await raw(c.req());
      expectClientError(c.name, r, c.codes, c.status);
    });
  }

  it('GET with a query (no preflight header) is refused as CSRF; a proper GET query works', async () => {
    const q = encodeURIComponent('{ me { username } }');
    const blocked = await raw({ method: 'GET', path: `/graphql?query=${q}`, headers: {}, body: undefined });
    expectClientError('GET without preflight', blocked, ['BAD_REQUEST'], 400);
    const ok = await raw({
      method: 'GET',
      path: `/graphql?query=${q}`,
      headers: { 'apollo-require-preflight': '1' },
      body: undefined,
    });
    expect(ok.json?.data?.me?.username).toBe('acme-admin');
  });

  it('a huge string (90 kB) in a filter is answered (an empty page), not a server error', async () => {
    const r = await raw({
      body: gql('query ($t: String) { auditLog(first: 1, filter: { text: $t }) { edges { cursor } } }', {
        t: `zz${'x'.repeat(90_000)}`,
      }),
    });
    // (The page may hold this very read's own audit record: reads are audited with their filter.)
    expect(r.status).toBe(200);
    expect(r.json?.errors).toBeUndefined();
    expect(Array.isArray(r.json?.data?.auditLog?.edges)).toBe(true);
  });

  // Bodies the JSON parser refuses never reach GraphQL: they must still be clear JSON errors.
  const bodyCases: Array<{ name: string; req: () => RawRequest; status: number; code?: string }> = [
    { name: 'non-JSON body', req: () => ({ body: '{ not json' }), status: 400, code: 'BAD_REQUEST' },
    {
      name: 'truncated JSON body',
      req: () => ({ body: gql('{ me { id } }').slice(0, 12) }),
      status: 400,
      code: 'BAD_REQUEST',
    },
    {
      name: 'invalid UTF-8 bytes in the body',
      req: () => ({
        body: Buffer.concat([
          Buffer.from('{"query":"{ me { id } }","variables":{"x":"'),
          Buffer.from([0xff, 0xfe, 0xc3]),
          Buffer.from('"}}'),
        ]),
      }),
      status: 200,
    },
    {
      name: 'over the body limit (413)',
      req: () => ({ body: gql(`{ me { id } } # ${'x'.repeat(200 * 1024)}`) }),
      status: 413,
      code: 'PAYLOAD_TOO_LARGE',
    },
    {
      name: 'unsupported charset',
      req: () => ({ headers: { 'content-type': 'application/json; charset=koi8-r' }, body: gql('{ me { id } }') }),
      status: 415,
      code: 'UNSUPPORTED_MEDIA_TYPE',
    },
  ];
  for (const c of bodyCases) {
    it(c.name, async () => {
      const r = await raw(c.req());
      if (r.status >= 500) serverErrors.push(`${c.name}: ${r.status}`);
      expect(r.status, `${c.name}: ${r.text.slice(0, 300)}`).toBe(c.status);
      expect(r.text, `${c.name}: no stack traces or file paths`).not.toMatch(/\bat [\w.<>]+ \(|\/work\/|node_modules/);
      if (c.code) {
        // GraphQL-shaped: {"errors":[{"message","extensions":{"code"}}]}, never Express's HTML page.
        expect(r.type, `${c.name}: a JSON error, not an HTML page: ${r.text.slice(0, 200)}`).toMatch(/json/);
        expect(r.json?.errors?.[0]?.message, c.name).toBeTruthy();
        expect(codes(r.json), c.name).toEqual([c.code]);
      }
    });
  }
});

describe('query limits (graphql-armor)', () => {
  const fieldsOf = (type: string) =>
    (schema.type(type).fields ?? [])
      .filter((f) => ['SCALAR', 'ENUM'].includes(schema.type(namedType(f.type).name!).kind) && f.args.length === 0)
      .map((f) => f.name)
      .join(' ');

  it('deep: the schema has no cycles, so only introspection nests deeper than MAX_DEPTH; it stays bounded', async () => {
    // graphql-armor exempts introspection from maxDepth; the token limit still bounds it.
    let inner = 'name';
    for (let i = 0; i < 14; i++) inner = `ofType { ${inner} }`;
    const ok = await raw({ body: gql(`{ __schema { types { fields { type { ${inner} } } } } }`) });
    expect(ok.status).toBe(200);
    for (let i = 0; i < 700; i++) inner = `ofType { ${inner} }`;
    const r = await raw({ body: gql(`{ __schema { types { fields { type { ${inner} } } } } }`) });
    expectClientError('deep introspection', r, ['GRAPHQL_VALIDATION_FAILED', 'GRAPHQL_PARSE_FAILED']);
    expect(r.text).toMatch(/depth|token/i);
  });

  it('too many aliases', async () => {
    const q = `{ ${Array.from({ length: 40 }, (_, i) => `a${i}: me { id }`).join(' ')} }`;
    const r = await raw({ body: gql(q) });
    expectClientError('aliases', r, ['GRAPHQL_VALIDATION_FAILED', 'BAD_USER_INPUT'], 400);
    expect(r.text).toMatch(/alias/i);
  });

  it('too expensive', async () => {
    const node = `edges { node { ${fieldsOf('Resource')} tasks { ${fieldsOf('Task')} } tenant { ${fieldsOf('Tenant')} } } }`;
    const q = `{ ${Array.from({ length: 14 }, (_, i) => `r${i}: resources(first: 100) { ${node} }`).join(' ')} }`;
    const r = await raw({ body: gql(q) });
    expectClientError('cost', r, ['GRAPHQL_VALIDATION_FAILED', 'BAD_USER_INPUT'], 400);
    expect(r.text).toMatch(/cost|token/i);
  });

  it('too many tokens', async () => {
    const q = `{ me { ${Array.from({ length: 3000 }, () => 'id').join(' ')} } }`;
    const r = await raw({ body: gql(q) });
    expectClientError('tokens', r, ['GRAPHQL_PARSE_FAILED'], 400);
    expect(r.text).toMatch(/token/i);
  });

  it('too many directives', async () => {
    const q = `{ me { id ${Array.from({ length: 40 }, () => '@include(if: true)').join(' ')} } }`;
    const r = await raw({ body: gql(q) });
    expectClientError('directives', r, ['GRAPHQL_VALIDATION_FAILED', 'BAD_USER_INPUT'], 400);
    expect(r.text).toMatch(/directive/i);
  });

  it('a fragment cycle', async () => {
    const r = await raw({ body: gql('{ me { ...A } } fragment A on Me { id ...B } fragment B on Me { ...A }') });
    expectClientError('fragment cycle', r, ['GRAPHQL_VALIDATION_FAILED'], 400);
  });

  it('page sizes out of range', async () => {
    for (const first of [0, -5, 101]) {
      const r = await raw({ body: gql(`{ resources(first: ${first}) { edges { cursor } } }`) });
      expectClientError(`first: ${first}`, r, ['BAD_USER_INPUT']);
    }
    // Far beyond: the cost limit (which multiplies by `first`) refuses it before the resolver does.
    const r = await raw({ body: gql('{ resources(first: 100000) { edges { cursor } } }') });
    expectClientError('first: 100000', r, ['GRAPHQL_VALIDATION_FAILED', 'BAD_USER_INPUT']);
    expect(r.text).toMatch(/cost|first/i);
  });
});

describe('forged ids and cursors', () => {
  const forgedIds = () => [
    globalId('Guest', "' OR 1=1 --"),
    globalId('Guest', '00000000-0000-0000-0000-000000000000'),
    globalId('Guest', 'FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF'),
    Buffer.from(`Guest:${randomId('Guest')}`).toString('base64'),
    `${randomId('Alert')}==`,
    `${randomId('Tenant')}`.slice(0, 20),
    'R3Vlc3Q6', // "Guest:" with no key
    '%00',
    '\u0000',
    'a'.repeat(401),
  ];

  it('every ID argument of every field: forged ids are refused with a clear code, never INTERNAL', async () => {
    const bad: string[] = [];
    let n = 0;
    for (const rf of roots.filter((r) => r.operation !== 'subscription' && r.field.name !== 'logout')) {
      const p = plan(schema, rf.field);
      for (const probe of p.probes.filter((x) => x.kind !== 'Username')) {
        for (const id of forgedIds()) {
          const args = p.args(probe, id, (k) => own.get(k) ?? randomId(k === 'Node' || k === 'Username' ? 'Guest' : k));
          const res = await call(
            stack.gatewayUrl,
            acmeAdmin,
            p.document(rf.operation as 'query', schema.selection(rf.field.type, 1), args),
            args,
          );
          n++;
          const c = codes(res.body);
          const okData = res.body?.data && res.body.data[rf.field.name] != null;
          if (res.status >= 500 || c.includes('INTERNAL') || (!okData && c.length === 0))
            bad.push(
              `${rf.field.name}(${probe.path.join('.')}=${JSON.stringify(id).slice(0, 40)}): ${res.status} ${res.text.slice(0, 200)}`,
            );
        }
      }
    }
    expect(bad).toEqual([]);
    expect(n).toBeGreaterThan(50);
  }, 120_000);

  it('cursors: truncated, forged, wrong arity and wrong types are BAD_USER_INPUT or an empty page, never INTERNAL', async () => {
    const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
    const bad: string[] = [];
    const listFields = roots.filter(
      (r) =>
        r.operation === 'query' &&
        r.field.args.some((a) => a.name === 'after') &&
        r.field.args.some((a) => a.name === 'first'),
    );
    expect(listFields.length).toBeGreaterThan(2);
    for (const rf of listFields) {
      const p = plan(schema, rf.field);
      const page = await call(stack.gatewayUrl, acmeAdmin, `{ ${rf.field.name}(first: 2) { pageInfo { endCursor } } }`);
      const real: string | null = page.body?.data?.[rf.field.name]?.pageInfo?.endCursor ?? null;
      const cursors = [
        'garbage',
        '',
        '!!!',
        b64([]),
        b64(['x']),
        b64(['x', 'y']),
        b64(['x', 'y', 'z']),
        b64([null, null]),
        b64([{}, []]),
        b64([1e308, -1]),
        b64(['2026-01-01T00:00:00Z', "'; DROP TABLE guest; --"]),
        b64([true, false, null]),
        b64('not an array'),
        'W1tbW1tbW1tbW1tbW1tbW1tbW1s', // deeply nested brackets
        ...(real ? [real.slice(0, -3), `${real}AAAA`, real.split('').reverse().join('')] : []),
      ];
      for (const after of cursors) {
        const args = { ...p.args(null, null, () => 'x'), first: 2, after };
        const res = await call(
          stack.gatewayUrl,
          acmeAdmin,
          p.document('query', '{ pageInfo { hasNextPage } }', args),
          args,
        );
        const c = codes(res.body);
        if (res.status >= 500 || c.some((x) => x !== 'BAD_USER_INPUT'))
          bad.push(
            `${rf.field.name}(after: ${JSON.stringify(after).slice(0, 60)}): ${res.status} ${res.text.slice(0, 200)}`,
          );
      }
    }
    expect(bad).toEqual([]);
  }, 60_000);
});

/** Sends one subscribe frame on a fresh graphql-transport-ws socket; returns the frames it got. */
async function wsFrames(query: string): Promise<string[]> {
  const sock = new WebSocket(stack.wsUrl, 'graphql-transport-ws');
  const frames: string[] = [];
  await new Promise((r) => sock.once('open', r));
  sock.on('message', (m) => frames.push(String(m)));
  sock.on('close', (c, r) => frames.push(`close ${c} ${String(r)}`));
  sock.send(
    JSON.stringify({
      type: 'connection_init',
      payload: { authorization: `Bearer ${acmeAdmin.token}`, tenantId: acmeAdmin.tenantId },
    }),
  );
  await eventually(async () => (frames.length > 0 ? true : undefined), 5000, 'connection_ack');
  sock.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query } }));
  await eventually(async () => (frames.length > 1 ? true : undefined), 5000, 'an answer to subscribe').catch(() => {});
  sock.close();
  return frames;
}

describe('subscriptions (graphql-ws)', () => {
  it('forged cursors are BAD_USER_INPUT; malformed documents get an error frame, never a dropped socket', async () => {
    // One lazy client per subscription (regression: a shared non-lazy client's socket closed
    // normally under load between subscriptions, which completes a pending sink without a message).
    const once = (query: string, variables: Record<string, unknown> = {}) =>
      new Promise<string>((resolve) => {
        let out = '';
        let closed = '';
        const client = createClient({
          url: stack.wsUrl,
          webSocketImpl: WebSocket,
          retryAttempts: 0,
          connectionParams: { authorization: `Bearer ${acmeAdmin.token}`, tenantId: acmeAdmin.tenantId },
          on: {
            closed: (e) => {
              const close = e as { code?: number; reason?: string };
              closed = ` (socket closed ${close.code ?? '?'} ${close.reason ?? ''})`;
            },
          },
        });
        const done = (text: string) => {
          clearTimeout(timer);
          resolve(text);
          void Promise.resolve(client.dispose());
        };
        const stop = client.subscribe(
          { query, variables },
          {
            next: (v) => {
              out += JSON.stringify(v);
              if ((v as { errors?: unknown }).errors) {
                stop();
                done(out);
              }
            },
            error: (e) => {
              const close = e as { code?: number; reason?: string };
              done(`${out}${JSON.stringify(e)}${close.code ? ` close ${close.code} ${close.reason}` : ''}`);
            },
            complete: () => done(out || `complete without a message${closed}`),
          },
        );
        const timer = setTimeout(() => {
          stop();
          done(out || 'no answer');
        }, 10_000);
      });
    const subs = roots.filter((r) => r.operation === 'subscription' && r.field.args.some((a) => a.name === 'after'));
    expect(subs.length).toBeGreaterThan(0);
    const bad: string[] = [];
    for (const rf of subs) {
      for (const after of [
        'x',
        '-1',
        '1e9999',
        '9'.repeat(40),
        Buffer.from('["x","y"]').toString('base64url'),
        // Date.parse accepts "1"; PostgreSQL's timestamptz does not.
        Buffer.from('["1","y"]').toString('base64url'),
        '\u0000',
      ]) {
        const text = await once(`subscription ($a: String) { ${rf.field.name}(after: $a) { __typename } }`, {
          a: after,
        });
        if (!/BAD_USER_INPUT/.test(text) || /INTERNAL/.test(text))
          bad.push(`${rf.field.name}(after: ${after}): ${text.slice(0, 200)}`);
      }
    }
    for (const doc of [
      'subscription { nope }',
      'subscription {',
      `subscription { a: ${subs[0]!.field.name} { __typename } b: ${subs[0]!.field.name}(after: null) { __typename } }`,
    ]) {
      const frames = await wsFrames(doc);
      const text = frames.slice(1).join(' ');
      if (frames[0] !== '{"type":"connection_ack"}' || !/"type":"error"/.test(text)) {
        bad.push(`${doc}: ${text.slice(0, 200)}`);
        continue;
      }
      if (!/GRAPHQL_(VALIDATION|PARSE)_FAILED/.test(text) || /INTERNAL|Internal server error/.test(text))
        bad.push(`${doc}: ${text.slice(0, 200)}`);
    }
    expect(bad).toEqual([]);
  }, 180_000);
});

/** Labels of UNICODE strings PostgreSQL cannot store: the gateway refuses them. */
const UNSTORABLE = new Set(['NUL', 'lone surrogate']);

/** Strings a careless server stores differently, truncates, or crashes on. */
const UNICODE: Array<[string, string]> = [
  ['emoji', 'fuzz😀🏳️‍🌈👩‍👩‍👧'],
  ['RTL override', 'fuzz\u202Egnp.exe\u202C'],
  ['Arabic RTL', 'fuzzمرحبا'],
  ['combining marks', 'fuzze\u0301\u0302\u0303\u0304\u0305'],
  ['NUL', 'fuzz\u0000nul'],
  ['lone surrogate', 'fuzz\uD800x'],
  ['zero-width and BOM', 'fuzz\u200B\uFEFF'],
  ['astral CJK', 'fuzz𠜎𠜱'],
];

describe('unicode in every string input of every mutation', () => {
  it('each is stored and returned byte-exactly, or refused with BAD_USER_INPUT (or the refusal of that mutation), never INTERNAL', async () => {
    const refusalsOk = new Set(['BAD_USER_INPUT', 'NOT_FOUND', 'UNAUTHENTICATED', 'CONFLICT', 'FORBIDDEN']);
    const bad: string[] = [];
    const accepted: string[] = [];
    const refused: string[] = [];
    let counter = 0;
    const mutations = roots.filter(
      (r) => r.operation === 'mutation' && !['logout', 'deleteTenant'].includes(r.field.name),
    );
    let inputs = 0;
    for (const rf of mutations) {
      const p = plan(schema, rf.field);
      for (const pos of stringInputs(schema, rf.field)) {
        inputs++;
        for (const [label, text] of UNICODE) {
          counter++;
          // Other strings unique per call, so earlier successes do not turn later calls into CONFLICTs.
          const unique = (type: string, name: string) =>
            type !== 'String'
              ? undefined
              : (
                  {
                    slug: `u${counter}`,
                    name: `n${counter}`,
                    code: `U${counter % 9}-${100 + (counter % 900)}`,
                  } as Record<string, string>
                )[name];
          const probe: Probe = { path: pos.path, kind: 'Username', list: pos.list };
          const args = p.args(
            probe,
            text,
            (k) => own.get(k) ?? randomId(k === 'Node' || k === 'Username' ? 'Guest' : k),
            unique,
          );
          const who = rf.field.name === 'login' ? null : adminInA;
          const res = await call(
            stack.gatewayUrl,
            who,
            p.document('mutation', schema.selection(rf.field.type, 1), args),
            args,
          );
          const where = `${rf.field.name}(${pos.path.join('.')}) ${label}`;
          const c = codes(res.body);
          // Strings PostgreSQL cannot store are refused at the edge, naming the argument.
          if (
            UNSTORABLE.has(label) &&
            (c.join() !== 'BAD_USER_INPUT' || !/^Argument "/.test(res.body?.errors?.[0]?.message))
          ) {
            bad.push(`${where}: not refused as BAD_USER_INPUT: ${res.status} ${res.text.slice(0, 200)}`);
            continue;
          }
          if (res.status >= 500 || c.includes('INTERNAL') || c.some((x) => !refusalsOk.has(x))) {
            bad.push(`${where}: ${res.status} ${res.text.slice(0, 200)}`);
            continue;
          }
          const result = res.body?.data?.[rf.field.name];
          if (c.length > 0 || result == null) {
            refused.push(`${where}: ${c.join(',')}`);
            continue;
          }
          accepted.push(where);
          acceptedWrites.push({ requestId: res.requestId, where, text });
          // Returned byte-exactly where the answer carries the same field.
          const leaf = pos.path.at(-1)!;
          if (result && typeof result === 'object' && leaf in result) {
            const got = (result as Record<string, unknown>)[leaf];
            const want = pos.list ? [text] : text;
            if (JSON.stringify(got) !== JSON.stringify(want))
              bad.push(`${where}: stored/returned ${JSON.stringify(got)} for ${JSON.stringify(want)}`);
          }
        }
      }
    }
    expect(inputs).toBeGreaterThan(10);
    expect(accepted.length + refused.length).toBeGreaterThan(50);
    expect(bad).toEqual([]);
  }, 120_000);
});

describe('nothing lost', () => {
  it('the audit pipeline drained every event, and each accepted unicode write is audited with its text intact', async () => {
    await eventually(
      async () => {
        const { rows } = await stack.sql.query<{ n: number }>(
          'SELECT count(*)::int AS n FROM audit_inbox WHERE processed_at IS NULL',
        );
        return rows[0]!.n === 0 ? true : undefined;
      },
      90_000,
      'the audit inbox to drain',
    );
    const { rows: failed } = await stack.sql.query(
      'SELECT dedup_key, last_error FROM audit_inbox WHERE last_error IS NOT NULL',
    );
    expect(failed).toEqual([]);
    expect(acceptedWrites.length).toBeGreaterThan(10);
    const problems: string[] = [];
    for (const w of acceptedWrites) {
      const { rows } = await stack.sql.query<{ payload: unknown; target_name: string | null }>(
        'SELECT payload, target_name FROM audit_record WHERE request_id = $1',
        [w.requestId],
      );
      if (rows.length === 0) {
        problems.push(`${w.where}: no audit record`);
        continue;
      }
      const strings: string[] = [];
      const walk = (v: unknown): void => {
        if (typeof v === 'string') strings.push(v);
        else if (Array.isArray(v)) v.forEach(walk);
        else if (v && typeof v === 'object') Object.values(v).forEach(walk);
      };
      for (const r of rows) walk([r.payload, r.target_name]);
      // Every non-ASCII corpus string in the record is exactly one that was sent.
      for (const x of strings.filter((y) => y.startsWith('fuzz') && /[^\x20-\x7e]/.test(y))) {
        if (UNICODE.some(([, t]) => t === x)) continue;
        problems.push(`${w.where}: audited as ${JSON.stringify(x)}`);
      }
    }
    expect(problems).toEqual([]);
  }, 120_000);
});

describe('afterwards', () => {
  it('the gateway is alive: /healthz answers, no crash and no masked error in its log', async () => {
    const health = await raw({ method: 'GET', path: '/healthz', headers: {}, body: undefined, who: null });
    expect(health.status).toBe(200);
    expect(health.json).toEqual({ status: 'ok' });
    expect(stack.gateway.running).toBe(true);
    expect(crashLines(stack.logs, 'gateway')).toEqual([]);
    // Express's default handler printed body-parser errors to stderr; the gateway's JSON handler logs them at warn.
    expect(
      stack.logs.filter((l) => l.startsWith('[gateway]') && /\w*Error: .*(charset|JSON|too large)/i.test(l)),
    ).toEqual([]);
    expect(stack.logs.filter((l) => l.startsWith('[gateway]') && /unexpected error/.test(l))).toEqual([]);
    expect(serverErrors).toEqual([]);
    // Still serving real data.
    const me = await data<{ me: { username: string } }>(stack.gatewayUrl, acmeAdmin, '{ me { username } }');
    expect(me.me.username).toBe('acme-admin');
  });
});
