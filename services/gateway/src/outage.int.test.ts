import { randomBytes, randomUUID } from 'node:crypto';
import { chmod, mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOrm, migrateDatabase, type Orm } from '@tenantgate/shared';
import { LocalPostgres, LocalRedis, freePort, repoRoot } from '@tenantgate/stack';
import { uniquePrefix } from '@tenantgate/testing';
import { loginHeaders, seed, startHarness, type Harness, type Seed } from './testing/harness.ts';

// Issue #7: Postgres or Redis going away. The gateway runs against its own PostgreSQL (persistent
// data directory, so `pg_ctl stop -m immediate` — LocalPostgres.stopImmediate — and a start again
// keep the data) and its own Redis; the run's shared servers are never touched. Before the fix every
// request during an outage answered the masked INTERNAL "Internal server error" (HTTP 200/500).

const MESSAGE = 'The service is temporarily unavailable; retry';
const RESOURCES = `{ resources(first: 3) { edges { node { id vmid } } } }`;
const CREATE_TOKEN = `mutation($name: String!) { createApiToken(name: $name) { id tokenId } }`;
const LOGIN = `mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token } }`;

let dir: string;
let postgres: LocalPostgres;
let redis: LocalRedis;
let h: Harness;
/** A second connection pool to the same server: holds locks and reads back, outside the gateway. */
let observer: Orm;
let s: Seed;
let alice: Record<string, string>;

interface Answer {
  status: number;
  retryAfter: string | null;
  body: { data?: any; errors?: Array<{ message: string; extensions?: Record<string, unknown> }> };
}

async function post(query: string, variables: Record<string, unknown>, headers: Record<string, string> = {}) {
  const res = await fetch(h.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ query, variables }),
  });
  return { status: res.status, retryAfter: res.headers.get('retry-after'), body: (await res.json()) as Answer['body'] };
}

async function probe(path: '/healthz' | '/readyz'): Promise<number> {
  return (await fetch(h.url.replace('/graphql', path))).status;
}

async function readiness(): Promise<unknown> {
  return (await fetch(h.url.replace('/graphql', '/readyz'))).json();
}

function expectUnavailable(answer: Answer): void {
  expect(answer.status, JSON.stringify(answer.body)).toBe(503);
  expect(answer.retryAfter).toBe('5');
  expect(answer.body.errors?.length).toBeGreaterThan(0);
  for (const e of answer.body.errors ?? []) {
    expect(e.extensions?.code).toBe('SERVICE_UNAVAILABLE');
    expect(e.message).toBe(MESSAGE);
    expect(e.extensions?.retryAfterSeconds).toBe(5);
  }
}

async function count(sql: string, params: unknown[]): Promise<number> {
  const [row] = await observer.em.fork().execute<Array<{ n: string }>>(sql, params);
  return Number(row!.n);
}

/** Resolves once a backend of the gateway waits for a lock with a statement matching `like`. */
async function waitForLockWait(like: string): Promise<void> {
  for (;;) {
    const n = await count(
      `SELECT count(*) AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE ?`,
      [like],
    );
    if (n > 0) return;
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Takes `lock` (an ACCESS EXCLUSIVE or EXCLUSIVE table lock) in a transaction of the observer that
 * stays open until Postgres goes away; resolves once the lock is granted. One multi-statement
 * query, not `em.transactional`: when the server dies under a MikroORM/Kysely transaction its
 * failed ROLLBACK never returns the connection to the pool (see the report on kysely#1990), and
 * the observer's pool could not be closed.
 */
/** Table lock modes as LOCK TABLE takes them and as pg_locks names them. */
const LOCK_MODES = { 'ACCESS EXCLUSIVE': 'AccessExclusiveLock', EXCLUSIVE: 'ExclusiveLock' } as const;

async function holdLock(table: 'guest' | 'audit_inbox', mode: keyof typeof LOCK_MODES): Promise<void> {
  void observer.em
    .fork()
    .execute(`BEGIN; LOCK TABLE ${table} IN ${mode} MODE; SELECT pg_sleep(600)`)
    .catch(() => undefined);
  for (;;) {
    const n = await count(
      `SELECT count(*) AS n FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
        WHERE c.relname = ? AND l.mode = ? AND l.granted`,
      [table, LOCK_MODES[mode]],
    );
    if (n > 0) return;
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function stopPostgres(): Promise<void> {
  await postgres.stopImmediate();
}

async function startPostgres(): Promise<void> {
  await postgres.restart();
}

beforeAll(async () => {
  dir = join(repoRoot, '.data', 'test', `gateway-outage-${randomBytes(4).toString('hex')}`);
  await mkdir(dir, { recursive: true });
  // PostgreSQL runs as the unprivileged `postgres` user when we are root: it must reach its data dir.
  await chmod(dir, 0o755);
  postgres = new LocalPostgres({ dataDir: join(dir, 'pg'), persistent: true, port: await freePort() });
  const adminUrl = await postgres.start();
  const admin = await createOrm({ databaseUrl: adminUrl, poolMax: 1 });
  await admin.em.fork().execute('CREATE DATABASE tenantgate');
  await admin.close(true);
  const databaseUrl = postgres.url('tenantgate');
  await migrateDatabase(databaseUrl);
  redis = new LocalRedis({ dataDir: join(dir, 'redis'), persistent: false });
  await redis.start();
  h = await startHarness(databaseUrl, redis.url, uniquePrefix('gwo'));
  observer = await createOrm({ databaseUrl, poolMax: 3 });
  s = await seed(h.em());
  alice = await loginHeaders(h, 'alice', s.password, s.tenantA);
});

afterAll(async () => {
  // The half-way test leaves one connection of the gateway's pool checked out for good (Kysely's
  // ControlledTransaction never releases a connection whose ROLLBACK failed, kysely#1990), so
  // ending that pool would wait forever: the harness close is bounded, the rest is not.
  if (h) await Promise.race([h.close(), new Promise((r) => setTimeout(r, 5_000))]);
  await observer?.close(true);
  await redis?.stop();
  await postgres?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('PostgreSQL going away', () => {
  it('regression: a query while PostgreSQL is down answered INTERNAL', async () => {
    const before = await post(RESOURCES, {}, alice);
    expect(before.status).toBe(200);
    expect(before.body.data.resources.edges).toHaveLength(3);

    await stopPostgres();
    try {
      expectUnavailable(await post(RESOURCES, {}, alice));
      // again: the gateway keeps answering the same way, it did not wedge
      expectUnavailable(await post(RESOURCES, {}, alice));
      expect(await probe('/readyz')).toBe(503);
      expect(await readiness()).toEqual({ status: 'unavailable', postgres: 'down', redis: 'up' });
      expect(await probe('/healthz')).toBe(200);
    } finally {
      await startPostgres();
    }

    // Back: the same request succeeds on the same gateway (no restart).
    const after = await post(RESOURCES, {}, alice);
    expect(after.status, JSON.stringify(after.body)).toBe(200);
    expect(after.body.data).toEqual(before.body.data);
    expect(await probe('/readyz')).toBe(200);
  });

  it('regression: a query whose connection died mid-read (in a resolver) answered INTERNAL', async () => {
    // The read blocks on a lock, so the server dies while the resolver waits on its connection.
    await holdLock('guest', 'ACCESS EXCLUSIVE');
    const pending = post(RESOURCES, {}, alice);
    await waitForLockWait('%FROM guest%');
    await stopPostgres();
    try {
      expectUnavailable(await pending);
    } finally {
      await startPostgres();
    }
    expect((await post(RESOURCES, {}, alice)).status).toBe(200);
  });

  it('regression: a mutation while PostgreSQL is down answered INTERNAL; it wrote nothing', async () => {
    const requestId = randomUUID();
    await stopPostgres();
    try {
      expectUnavailable(await post(CREATE_TOKEN, { name: 'while-down' }, { ...alice, 'x-request-id': requestId }));
    } finally {
      await startPostgres();
    }
    expect(await count(`SELECT count(*) AS n FROM portal_api_token WHERE name = 'while-down'`, [])).toBe(0);
    expect(await count(`SELECT count(*) AS n FROM audit_inbox WHERE dedup_key LIKE ?`, [`portal:${requestId}:%`])).toBe(
      0,
    );
    // The same mutation succeeds afterwards, with its audit event.
    const retried = randomUUID();
    const ok = await post(CREATE_TOKEN, { name: 'while-down' }, { ...alice, 'x-request-id': retried });
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    expect(ok.body.data.createApiToken.tokenId).toBe('alice!while-down');
    expect(
      await count(`SELECT count(*) AS n FROM audit_inbox WHERE dedup_key = ?`, [`portal:${retried}:token.created`]),
    ).toBe(1);
  });

  it('regression: a mutation whose transaction lost PostgreSQL half-way answered INTERNAL; it left no row and no inbox event', async () => {
    // createApiToken inserts its token row, then its audit event into audit_inbox in the same
    // transaction: the inbox insert waits on a lock, so the server dies after the token row was
    // written (uncommitted). All-or-nothing means neither survives.
    const requestId = randomUUID();
    await holdLock('audit_inbox', 'EXCLUSIVE');
    const pending = post(CREATE_TOKEN, { name: 'half-way' }, { ...alice, 'x-request-id': requestId });
    await waitForLockWait('%INSERT INTO audit_inbox%');
    expect(
      await count(
        `SELECT count(*) AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%INSERT INTO audit_inbox%'`,
        [],
      ),
    ).toBe(1);
    await stopPostgres();
    try {
      expectUnavailable(await pending);
    } finally {
      await startPostgres();
    }
    expect(await count(`SELECT count(*) AS n FROM portal_api_token WHERE name = 'half-way'`, [])).toBe(0);
    expect(await count(`SELECT count(*) AS n FROM audit_inbox WHERE dedup_key LIKE ?`, [`portal:${requestId}:%`])).toBe(
      0,
    );
  });

  it('regression: a graphql-ws connection while PostgreSQL is down was refused as Forbidden (4403)', async () => {
    await stopPostgres();
    let code: number | undefined;
    try {
      const client = h.wsClient({ authorization: alice.authorization, tenantId: s.tenantA });
      code = await new Promise<number | undefined>((resolve) => {
        client.subscribe(
          { query: `subscription { alertStream { cursor } }` },
          {
            next: () => resolve(undefined),
            error: (e) => resolve((e as { code?: number }).code),
            complete: () => resolve(undefined),
          },
        );
      });
    } finally {
      await startPostgres();
    }
    // 1013 Try Again Later: the credentials were not refused, the database was away.
    expect(code).toBe(1013);
  });
});

describe('Redis going away', () => {
  it('regression: a login while Redis is down answered INTERNAL; it is refused, never let through unthrottled', async () => {
    const sessions = () => count(`SELECT count(*) AS n FROM portal_session WHERE user_id = ?`, [s.users.bob]);
    const before = await sessions();
    const requestId = randomUUID();
    await redis.stop();
    try {
      expectUnavailable(await post(LOGIN, { u: 'bob', p: s.password }, { 'x-request-id': requestId }));
      // a wrong password is refused the same way: the throttle comes before any password check
      expectUnavailable(await post(LOGIN, { u: 'bob', p: 'wrong' }, { 'x-request-id': randomUUID() }));
      expect(await probe('/readyz')).toBe(503);
      expect(await readiness()).toEqual({ status: 'unavailable', postgres: 'up', redis: 'down' });
      expect(await probe('/healthz')).toBe(200);
      // A read that does not need Redis still answers.
      expect((await post(RESOURCES, {}, alice)).status).toBe(200);
    } finally {
      await redis.start();
    }
    expect(await sessions()).toBe(before);
    expect(await count(`SELECT count(*) AS n FROM audit_inbox WHERE dedup_key LIKE ?`, [`portal:${requestId}:%`])).toBe(
      0,
    );

    // Back on the same port: the gateway's client reconnects by itself; then login works again.
    for (;;) {
      try {
        await h.redis.ping();
        break;
      } catch {
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    const ok = await post(LOGIN, { u: 'bob', p: s.password });
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    expect(ok.body.data.login.token).toMatch(/^tgs_/);
    expect(await sessions()).toBe(before + 1);
    expect(await probe('/readyz')).toBe(200);
  });

  it('a mutation while Redis is down still commits its audit event: the lost wake-up is swept later', async () => {
    const requestId = randomUUID();
    await redis.stop();
    let answer: Answer;
    try {
      answer = await post(CREATE_TOKEN, { name: 'redis-down' }, { ...alice, 'x-request-id': requestId });
    } finally {
      await redis.start();
    }
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    expect(answer.body.data.createApiToken.tokenId).toBe('alice!redis-down');
    expect(
      await count(`SELECT count(*) AS n FROM audit_inbox WHERE dedup_key = ?`, [`portal:${requestId}:token.created`]),
    ).toBe(1);
  });
});
