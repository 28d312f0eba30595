// Test harness: a real gateway (real Postgres, real Redis) listening on port 0, plus SQL seeding.
import { randomBytes } from 'node:crypto';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { QueueName, createLogger, createOrm, hashPassword, type Em, type Orm } from '@tenantgate/shared';
import { createGatewayApp, type GatewayApp, type GatewayAppOptions } from '../app.ts';

export interface Harness {
  gateway: GatewayApp;
  orm: Orm;
  redis: Redis;
  url: string;
  wsUrl: string;
  prefix: string;
  em(): Em;
  gql<T = any>(
    query: string,
    variables?: Record<string, unknown>,
    headers?: Record<string, string>,
  ): Promise<{
    status: number;
    body: { data?: T; errors?: Array<{ message: string; extensions?: { code?: string } }> };
  }>;
  wsClient(params: Record<string, unknown>): Client;
  close(): Promise<void>;
}

export async function startHarness(
  databaseUrl: string,
  redisUrl: string,
  prefix: string,
  overrides: Partial<GatewayAppOptions> = {},
): Promise<Harness> {
  const logger = createLogger('gateway-test', 'silent');
  const orm = await createOrm({ databaseUrl, poolMax: 5 });
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 3 });
  const redisSubscriber = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const wakeupQueue = new Queue(QueueName.auditWakeup, { connection: redis, prefix });
  // main.ts logs these; tests that stop Redis (outage.int.test.ts) expect them while it reconnects.
  for (const emitter of [redis, redisSubscriber, wakeupQueue]) emitter.on('error', () => {});
  const gateway = await createGatewayApp({
    logger,
    orm,
    redis,
    redisSubscriber,
    wakeupQueue,
    options: {
      introspection: false,
      graphiql: false,
      sessionTtlS: 3600,
      credentialsKey: overrides.credentialsKey ?? randomBytes(32),
      queuePrefix: prefix,
      loginMaxFailures: 3,
      loginLockoutS: 600,
      loginIpLimit: 1000,
      loginIpWindowS: 60,
      maxPageSize: 100,
      maxDepth: 10,
      maxCost: 5000,
      bodyLimit: '100kb',
      ...overrides,
    },
  });
  const port = await gateway.listen(0, '127.0.0.1');
  const url = `http://127.0.0.1:${port}/graphql`;
  const clients: Client[] = [];
  return {
    gateway,
    orm,
    redis,
    url,
    wsUrl: `ws://127.0.0.1:${port}/graphql`,
    prefix,
    em: () => orm.em.fork(),
    async gql(query, variables = {}, headers = {}) {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ query, variables }),
      });
      return { status: res.status, body: (await res.json()) as any };
    },
    wsClient(params) {
      const c = createClient({
        url: `ws://127.0.0.1:${port}/graphql`,
        webSocketImpl: WebSocket,
        connectionParams: params,
        retryAttempts: 0,
        lazy: true,
      });
      clients.push(c);
      return c;
    },
    async close() {
      for (const c of clients) await c.dispose();
      await gateway.stop();
      await wakeupQueue.close();
      await redis.quit();
      await redisSubscriber.quit();
      await orm.close(true);
    },
  };
}

/** Collects `n` results of a subscription (or fails with its error). */
export function take<T>(
  client: Client,
  query: string,
  variables: Record<string, unknown>,
  n: number,
): { done: Promise<T[]>; cancel: () => void } {
  const out: T[] = [];
  let cancel = () => {};
  const done = new Promise<T[]>((resolve, reject) => {
    cancel = client.subscribe<T>(
      { query, variables },
      {
        next: (v) => {
          if (v.errors) {
            reject(new Error(JSON.stringify(v.errors)));
            return;
          }
          out.push(v.data as T);
          if (out.length >= n) {
            resolve(out);
            cancel();
          }
        },
        error: (e) => reject(e instanceof Error ? e : new Error(JSON.stringify(e))),
        complete: () => resolve(out),
      },
    );
  });
  return { done, cancel: () => cancel() };
}

export interface Seed {
  tenantA: string;
  tenantB: string;
  connectionId: string;
  guestsA: string[];
  guestsB: string[];
  users: Record<'alice' | 'bob' | 'admin' | 'auditor' | 'carol' | 'dave', string>;
  alertA: string;
  alertB: string;
  password: string;
}

/** Two tenants on one connection; alice (tenant_admin A), bob (tenant_user B), carol (tenant_user A, no privileges), admin, auditor. */
export async function seed(em: Em): Promise<Seed> {
  const password = 'correct horse battery staple';
  const hash = await hashPassword(password);
  const q = async <T = any>(sql: string, params: unknown[] = []) => (await em.execute<T[]>(sql, params)) as T[];
  const [a] = await q<{ id: string }>(`INSERT INTO tenant (slug, name) VALUES ('acme', 'Acme') RETURNING id`);
  const [b] = await q<{ id: string }>(`INSERT INTO tenant (slug, name) VALUES ('globex', 'Globex') RETURNING id`);
  const users: Record<string, string> = {};
  for (const [name, admin, auditor] of [
    ['alice', false, false],
    ['bob', false, false],
    ['carol', false, false],
    ['dave', false, false],
    ['admin', true, false],
    ['auditor', false, true],
  ] as const) {
    const [u] = await q<{ id: string }>(
      `INSERT INTO portal_user (username, password_hash, is_portal_admin, is_compliance_auditor) VALUES (?, ?, ?, ?) RETURNING id`,
      [name, hash, admin, auditor],
    );
    users[name] = u!.id;
  }
  await q(`INSERT INTO membership (user_id, tenant_id, role, privileges) VALUES (?, ?, 'tenant_admin', '{}')`, [
    users.alice,
    a!.id,
  ]);
  await q(
    `INSERT INTO membership (user_id, tenant_id, role, privileges) VALUES (?, ?, 'tenant_user', '{VM.Audit,VM.PowerMgmt}')`,
    [users.bob, b!.id],
  );
  await q(`INSERT INTO membership (user_id, tenant_id, role, privileges) VALUES (?, ?, 'tenant_user', '{}')`, [
    users.carol,
    a!.id,
  ]);
  await q(
    `INSERT INTO membership (user_id, tenant_id, role, privileges) VALUES (?, ?, 'tenant_user', '{VM.Audit}'), (?, ?, 'tenant_user', '{VM.Audit}')`,
    [users.dave, a!.id, users.dave, b!.id],
  );
  const [c] = await q<{ id: string }>(
    `INSERT INTO pve_connection (name, base_url, token_id, secret_enc) VALUES ('pve1', 'https://127.0.0.1:8006', 'sync@pve!tg', '\\x00') RETURNING id`,
  );
  await q(
    `INSERT INTO assignment (tenant_id, connection_id, kind, pool) VALUES (?, ?, 'pool', 'acme'), (?, ?, 'pool', 'globex')`,
    [a!.id, c!.id, b!.id, c!.id],
  );
  const guests = async (pool: string, from: number, n: number) => {
    const ids: string[] = [];
    for (let i = 0; i < n; i++) {
      const vmid = from + i;
      const [g] = await q<{ id: string }>(
        `INSERT INTO guest (connection_id, vmid, type, node, name, status, pool, tags, raw) VALUES (?, ?, ?, ?, ?, ?, ?, ?, '{}') RETURNING id`,
        [
          c!.id,
          vmid,
          i % 2 ? 'lxc' : 'qemu',
          i % 3 ? 'pve1' : 'pve2',
          `${pool}-vm-${String(i).padStart(3, '0')}`,
          i % 4 ? 'running' : 'stopped',
          pool,
          i % 2 ? '{web}' : '{db}',
        ],
      );
      ids.push(g!.id);
      for (let t = 0; t < 2; t++) {
        await q(
          `INSERT INTO pve_task (upid, connection_id, node, type, task_id, vmid, pve_user, starttime, endtime, status, outcome)
           VALUES (?, ?, 'pve1', 'qmstart', ?, ?, 'root@pam', now() - make_interval(mins => ?), now(), 'OK', 'ok')`,
          [
            `UPID:pve1:0000${vmid}${t}:00000000:6500000${t}:qmstart:${vmid}:root@pam:`,
            c!.id,
            String(vmid),
            vmid,
            t + i,
          ],
        );
      }
    }
    return ids;
  };
  const guestsA = await guests('acme', 100, 12);
  const guestsB = await guests('globex', 200, 5);
  // audit chains with a few records
  for (const chain of [a!.id, b!.id, 'provider']) {
    await q(`INSERT INTO audit_chain (chain_id, tenant_id, head_seq, head_hash) VALUES (?, ?, 3, '\\x00')`, [
      chain,
      chain === 'provider' ? null : chain,
    ]);
    for (let s = 1; s <= 3; s++) {
      await q(
        `INSERT INTO audit_record (chain_id, seq, event_id, dedup_key, tenant_id, occurred_at, observed_at, recorded_at, source, category, action, outcome,
           actor_type, actor_id, actor_principal, src_ip, target_type, target_id, target_name, detection, payload, payload_digest, prev_hash, record_hash)
         VALUES (?, ?, gen_random_uuid(), ?, ?, now() - make_interval(mins => ?), now(), now(), 'pve.task', 'task', ?, ?, 'pve-user', 'root@pam', 'root@pam',
           ?, 'guest', ?, ?, 'reported', ?::jsonb, '\\x00', '\\x00', '\\x01')`,
        [
          chain,
          s,
          `k${s}`,
          chain === 'provider' ? null : chain,
          10 - s,
          s === 3 ? 'auth.login_failed' : 'task.qmstart',
          s === 3 ? 'failure' : 'success',
          `10.0.0.${s}`,
          String(100 + s),
          `${chain.slice(0, 6)}-secret-${s}`,
          JSON.stringify({ note: `chain ${chain}` }),
        ],
      );
    }
  }
  const [ruleRow] = await q<{ id: string }>(
    `INSERT INTO alert_rule (code, kind, name, severity) VALUES ('AUTH-001', 'brute-force', 'Brute force', 'high') RETURNING id`,
  );
  const alert = async (tenant: string) => {
    const [al] = await q<{ id: string }>(
      `INSERT INTO alert (rule_id, tenant_id, dedup_key, state, severity, title, first_seen_at, last_seen_at) VALUES (?, ?, 'ip:10.0.0.9', 'firing', 'high', 'Brute force from 10.0.0.9', now(), now()) RETURNING id`,
      [ruleRow!.id, tenant],
    );
    await q(`INSERT INTO alert_event (alert_id, tenant_id, from_state, to_state) VALUES (?, ?, NULL, 'firing')`, [
      al!.id,
      tenant,
    ]);
    return al!.id;
  };
  const alertA = await alert(a!.id);
  const alertB = await alert(b!.id);
  return {
    tenantA: a!.id,
    tenantB: b!.id,
    connectionId: c!.id,
    guestsA,
    guestsB,
    users: users as Seed['users'],
    alertA,
    alertB,
    password,
  };
}

/** Logs in and returns the headers for a tenant. */
export async function loginHeaders(
  h: Harness,
  username: string,
  password: string,
  tenantId?: string,
): Promise<Record<string, string>> {
  const res = await h.gql<{ login: { token: string } }>(
    `mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token } }`,
    { u: username, p: password },
  );
  if (!res.body.data) throw new Error(`login failed: ${JSON.stringify(res.body.errors)}`);
  return { authorization: `Bearer ${res.body.data.login.token}`, ...(tenantId ? { 'x-tenant-id': tenantId } : {}) };
}

/** Appends an alert_event row (as the auditor does) and returns its id: the stream's cursor. */
export async function insertAlertEvent(em: Em, alertId: string, tenantId: string, toState: string): Promise<string> {
  const rows = await em.execute<Array<{ id: string }>>(
    `INSERT INTO alert_event (alert_id, tenant_id, from_state, to_state) VALUES (?, ?, 'firing', ?) RETURNING id::text AS id`,
    [alertId, tenantId, toState],
  );
  return rows[0]!.id;
}

/** The auditor's pub/sub notification of an alert_event row (AlertNotification JSON). */
export function alertNotification(cursor: string, alertId: string, tenantId: string, state: string): string {
  return JSON.stringify({
    cursor,
    alertId,
    tenantId,
    ruleCode: 'AUTH-001',
    state,
    fromState: 'firing',
    severity: 'high',
    title: 't',
    at: new Date().toISOString(),
  });
}
