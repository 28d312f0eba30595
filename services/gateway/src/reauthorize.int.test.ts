import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from 'graphql-ws';
import { createTestDatabase, testRedisUrl, uniquePrefix, type TestDatabase } from '@tenantgate/testing';
import { alertChannel } from '@tenantgate/shared';
import {
  alertNotification,
  insertAlertEvent,
  loginHeaders,
  seed,
  startHarness,
  type Harness,
  type Seed,
} from './testing/harness.ts';

// Open subscriptions end when access is withdrawn: session revoked or expired, user disabled,
// membership of the active tenant removed. Checked periodically (`periodic`: every 50 ms here)
// and before each delivered event (`perEvent`: the periodic check is effectively off).

let db: TestDatabase;
let periodic: Harness;
let perEvent: Harness;
let s: Seed;

beforeAll(async () => {
  db = await createTestDatabase('gateway_reauth');
  periodic = await startHarness(db.url, testRedisUrl(), uniquePrefix('gwr'), { subscriptionRecheckMs: 50 });
  perEvent = await startHarness(db.url, testRedisUrl(), uniquePrefix('gws'), { subscriptionRecheckMs: 3_600_000 });
  s = await seed(periodic.em());
});

afterAll(async () => {
  await periodic?.close();
  await perEvent?.close();
  await db?.drop();
});

const ALERTS = `subscription($after: String) { alertStream(after: $after) { cursor state } }`;
const TASKS = `subscription($after: String) { taskUpdates(after: $after) { cursor task { upid } } }`;
/** A taskUpdates cursor before every task: the stream replays the tenant's tasks first. */
const TASKS_FROM_START = Buffer.from(JSON.stringify(['1970-01-01 00:00:00+00', '']), 'utf8').toString('base64url');

interface Outcome {
  values: unknown[];
  codes: string[];
  completed: boolean;
}

/** Subscribes and resolves `first` with the first value, `end` when the stream ends (error or complete). */
function watch(client: Client, query: string, variables: Record<string, unknown>) {
  const out: Outcome = { values: [], codes: [], completed: false };
  let first!: () => void;
  const firstValue = new Promise<void>((r) => (first = r));
  const end = new Promise<Outcome>((resolve, reject) => {
    client.subscribe(
      { query, variables },
      {
        next: (v) => {
          if (v.errors) out.codes.push(...v.errors.map((e) => String(e.extensions?.code)));
          else {
            out.values.push(v.data);
            first();
          }
        },
        error: (e) => reject(e instanceof Error ? e : new Error(JSON.stringify(e))),
        complete: () => {
          out.completed = true;
          resolve(out);
        },
      },
    );
  });
  return { firstValue, end };
}

async function sessionOf(headers: Record<string, string>) {
  return headers.authorization!;
}

describe('subscriptions re-authorize (periodic check)', () => {
  it('ends alertStream with UNAUTHENTICATED when the session is revoked', async () => {
    const headers = await loginHeaders(periodic, 'alice', s.password, s.tenantA);
    const client = periodic.wsClient({ authorization: await sessionOf(headers), tenantId: s.tenantA });
    const sub = watch(client, ALERTS, { after: '0' });
    await sub.firstValue;
    await periodic.em().execute(`UPDATE portal_session SET revoked_at = now() WHERE user_id = ?`, [s.users.alice]);
    const out = await sub.end;
    expect(out.codes).toEqual(['UNAUTHENTICATED']);
    expect(out.completed).toBe(true);
  });

  it('ends alertStream with UNAUTHENTICATED when the session expires', async () => {
    const headers = await loginHeaders(periodic, 'alice', s.password, s.tenantA);
    const client = periodic.wsClient({ authorization: headers.authorization, tenantId: s.tenantA });
    const sub = watch(client, ALERTS, { after: '0' });
    await sub.firstValue;
    await periodic
      .em()
      .execute(
        `UPDATE portal_session SET expires_at = now() - interval '1 second' WHERE user_id = ? AND revoked_at IS NULL`,
        [s.users.alice],
      );
    expect((await sub.end).codes).toEqual(['UNAUTHENTICATED']);
  });

  it('ends taskUpdates with FORBIDDEN when the membership of the active tenant is removed', async () => {
    const headers = await loginHeaders(periodic, 'dave', s.password, s.tenantA);
    const client = periodic.wsClient({ authorization: headers.authorization, tenantId: s.tenantA });
    const sub = watch(client, TASKS, { after: TASKS_FROM_START });
    await sub.firstValue;
    await periodic
      .em()
      .execute(`DELETE FROM membership WHERE user_id = ? AND tenant_id = ?`, [s.users.dave, s.tenantA]);
    const out = await sub.end;
    expect(out.codes).toEqual(['FORBIDDEN']);
    expect(out.completed).toBe(true);
  });

  it('ends a stream with UNAUTHENTICATED when the user is disabled', async () => {
    const headers = await loginHeaders(periodic, 'bob', s.password, s.tenantB);
    const client = periodic.wsClient({ authorization: headers.authorization, tenantId: s.tenantB });
    const sub = watch(client, ALERTS, { after: '0' });
    await sub.firstValue;
    await periodic.em().execute(`UPDATE portal_user SET disabled = true WHERE id = ?`, [s.users.bob]);
    expect((await sub.end).codes).toEqual(['UNAUTHENTICATED']);
    await periodic.em().execute(`UPDATE portal_user SET disabled = false WHERE id = ?`, [s.users.bob]);
  });
});

describe('subscriptions re-authorize (each delivered event)', () => {
  it('does not deliver a live event after the session was revoked: the stream ends with UNAUTHENTICATED', async () => {
    const headers = await loginHeaders(perEvent, 'admin', s.password, s.tenantA);
    const client = perEvent.wsClient({ authorization: headers.authorization, tenantId: s.tenantA });
    const sub = watch(client, ALERTS, { after: '0' });
    await sub.firstValue;
    await perEvent.em().execute(`UPDATE portal_session SET revoked_at = now() WHERE user_id = ?`, [s.users.admin]);
    const cursor = await insertAlertEvent(perEvent.em(), s.alertA, s.tenantA, 'acknowledged');
    await perEvent.redis.publish(
      alertChannel(perEvent.prefix, s.tenantA),
      alertNotification(cursor, s.alertA, s.tenantA, 'acknowledged'),
    );
    const out = await sub.end;
    expect(out.values).toHaveLength(1); // only the replayed event from before the revocation
    expect(out.codes).toEqual(['UNAUTHENTICATED']);
  });
});
