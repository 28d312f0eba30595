import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, testRedisUrl, uniquePrefix, type TestDatabase } from '@tenantgate/testing';
import { alertChannel } from '@tenantgate/shared';
import {
  alertNotification,
  insertAlertEvent,
  loginHeaders,
  seed,
  startHarness,
  take,
  type Harness,
  type Seed,
} from './testing/harness.ts';

// The real composition root (src/main.ts under tsx, as the stack runs it) in a separate process,
// next to an in-process gateway: one Redis publication reaches subscribers of both processes.
let db: TestDatabase;
let h: Harness;
let s: Seed;
let child: ChildProcess;
let childUrl = '';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

beforeAll(async () => {
  db = await createTestDatabase('gateway_process');
  const prefix = uniquePrefix('gwproc');
  h = await startHarness(db.url, testRedisUrl(), prefix);
  s = await seed(h.em());
  child = spawn(process.execPath, ['--import', tsx, 'services/gateway/src/main.ts'], {
    cwd: repoRoot,
    env: {
      PATH: process.env.PATH,
      DATABASE_URL: db.url,
      REDIS_URL: testRedisUrl(),
      QUEUE_PREFIX: prefix,
      CREDENTIALS_KEY: randomBytes(32).toString('base64'),
      GATEWAY_PORT: '0',
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  child.stderr!.on('data', (b: Buffer) => lines.push(b.toString()));
  childUrl = await new Promise<string>((resolve, reject) => {
    const rl = createInterface({ input: child.stdout! });
    rl.on('line', (line) => {
      lines.push(line);
      try {
        const rec = JSON.parse(line) as { msg?: string; url?: string };
        if (rec.msg === 'gateway listening' && rec.url) resolve(rec.url);
      } catch {
        // not a log line
      }
    });
    child.once('exit', (code) => reject(new Error(`gateway exited with ${code}:\n${lines.join('\n')}`)));
  });
}, 60_000);

afterAll(async () => {
  if (child && child.exitCode === null) {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  }
  await h?.close();
  await db?.drop();
});

describe('a second gateway process (src/main.ts)', () => {
  it('serves health, readiness and a login', async () => {
    const base = childUrl.replace(/\/graphql$/, '');
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    const res = await fetch(childUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        query: `mutation($p: String!) { login(username: "alice", password: $p) { token } }`,
        variables: { p: s.password },
      }),
    });
    const body = (await res.json()) as { data?: { login: { token: string } } };
    expect(body.data?.login.token).toMatch(/^tgs_/);
  });

  it('delivers one Redis publication to alertStream subscribers in both processes', async () => {
    const alice = await loginHeaders(h, 'alice', s.password, s.tenantA);
    const SUB = `subscription($after: String) { alertStream(after: $after) { cursor state } }`;
    const [ev] = await h
      .em()
      .execute<Array<{ id: string }>>(`SELECT id::text AS id FROM alert_event WHERE tenant_id = ?`, [s.tenantA]);
    const params = { authorization: alice.authorization, tenantId: s.tenantA };
    const { createClient } = await import('graphql-ws');
    const WebSocket = (await import('ws')).default;
    const remote = createClient({
      url: childUrl.replace(/^http/, 'ws'),
      webSocketImpl: WebSocket,
      connectionParams: params,
      retryAttempts: 0,
    });
    try {
      const subs = [
        take<{ alertStream: { cursor: string; state: string } }>(h.wsClient(params), SUB, { after: ev!.id }, 1),
        take<{ alertStream: { cursor: string; state: string } }>(remote, SUB, { after: ev!.id }, 1),
      ];
      const channel = alertChannel(h.prefix, s.tenantA);
      for (let i = 0; i < 1000; i++) {
        const [, n] = (await h.redis.pubsub('NUMSUB', channel)) as [string, number];
        if (Number(n) >= 2) break;
        await new Promise((r) => setTimeout(r, 10));
      }
      // Notifications only trigger a read: the event is a real alert_event row.
      const cursor = await insertAlertEvent(h.em(), s.alertA, s.tenantA, 'resolved');
      await h.redis.publish(channel, alertNotification(cursor, s.alertA, s.tenantA, 'resolved'));
      const got = await Promise.all(subs.map((x) => x.done));
      expect(got).toEqual([
        [{ alertStream: { cursor, state: 'resolved' } }],
        [{ alertStream: { cursor, state: 'resolved' } }],
      ]);
    } finally {
      await remote.dispose();
    }
  });
});
