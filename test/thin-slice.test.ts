// Issue 2, the walking skeleton end to end: pve-sync polls the simulator (resources and node
// tasks), stores them, writes inbox events and wakes the auditor through BullMQ; the auditor
// chains records per tenant and fires an alert for a failed task on a tenant's VM; the gateway
// answers a tenant user's me/resources/auditLog, and delivers the alert over graphql-ws to that
// tenant's subscriber and not to another tenant's.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { startE2eStack, eventually, type E2eStack } from './src/harness.ts';
import { GqlSession, collect } from './src/graphql-client.ts';

describe('thin slice: PVE → pve-sync → inbox → auditor → gateway', () => {
  let stack: E2eStack;
  let db: pg.Client;
  const login = (username: string) => stack.seed.logins.find((l) => l.username === username)!;

  beforeAll(async () => {
    stack = await startE2eStack('thinslice');
    db = new pg.Client({ connectionString: stack.db.url });
    await db.connect();
  }, 180_000);

  afterAll(async () => {
    await db?.end();
    await stack?.stop();
  });

  it('serves a tenant user only its own guests, audit records and alerts', async () => {
    const acmeLogin = login('acme-user');
    const globexLogin = login('globex-user');
    const acme = new GqlSession(stack.gatewayUrl);
    await acme.login(acmeLogin.username, acmeLogin.password, acmeLogin.tenant!.id);
    const globex = new GqlSession(stack.gatewayUrl);
    await globex.login(globexLogin.username, globexLogin.password, globexLogin.tenant!.id);

    const me = await acme.data<{ me: { username: string; activeTenantId: string } }>(
      '{ me { username activeTenantId } }',
    );
    expect(me.me).toEqual({ username: 'acme-user', activeTenantId: acmeLogin.tenant!.id });

    // Without a session the shield refuses.
    const anonymous = await new GqlSession(stack.gatewayUrl).request(
      '{ resources(first: 5) { edges { node { id } } } }',
    );
    expect(anonymous.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');

    // pve-sync has polled both clusters: acme sees exactly the guests of PVE pool "acme".
    const resourcesQuery =
      '{ resources(first: 100) { edges { node { id vmid name pool cluster tasks { upid } tenant { slug } } } } }';
    type Res = {
      resources: {
        edges: Array<{
          node: { id: string; vmid: number; pool: string | null; cluster: string; tenant: { slug: string } };
        }>;
      };
    };
    const acmeResources = await eventually(
      async () => {
        const d = await acme.data<Res>(resourcesQuery);
        return d.resources.edges.length > 0 ? d.resources.edges.map((e) => e.node) : undefined;
      },
      60_000,
      'acme resources to be synced',
    );
    const expected = [...stack.sim.clusters].flatMap((c) =>
      [...c.state.guests.values()]
        .filter((g) => c.state.access.poolOfVm(g.vmid)?.poolid === 'acme')
        .map((g) => `${c.name}/${g.vmid}`),
    );
    expect(expected.length).toBeGreaterThan(0);
    await eventually(
      async () => {
        const d = await acme.data<Res>(resourcesQuery);
        return d.resources.edges.length === expected.length ? true : undefined;
      },
      60_000,
      'all acme guests',
    );
    const acmeNow = (await acme.data<Res>(resourcesQuery)).resources.edges.map((e) => e.node);
    expect(acmeNow.map((r) => `${r.cluster}/${r.vmid}`).sort()).toEqual(expected.sort());
    expect(new Set(acmeNow.map((r) => r.pool))).toEqual(new Set(['acme']));
    expect(new Set(acmeNow.map((r) => r.tenant.slug))).toEqual(new Set(['acme']));
    expect(acmeResources.length).toBeGreaterThan(0);

    const globexNow = (await globex.data<Res>(resourcesQuery)).resources.edges.map((e) => e.node);
    expect(globexNow.length).toBeGreaterThan(0);
    expect(globexNow.some((r) => acmeNow.some((a) => a.id === r.id))).toBe(false);

    // A foreign id is answered like a nonexistent one.
    const foreign = await globex.request('query ($id: ID!) { resource(id: $id) { id } }', { id: acmeNow[0]!.id });
    expect(foreign.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');

    // Subscribers of both tenants, before the failure happens.
    const acmeWs = acme.ws(stack.wsUrl);
    const globexWs = globex.ws(stack.wsUrl);
    const sub = 'subscription { alertStream { cursor alertId ruleCode state severity title } }';
    const acmeAlerts = collect(acmeWs, sub);
    const globexAlerts = collect(globexWs, sub);
    try {
      await new Promise((r) => setTimeout(r, 500));

      // A failed task on one of acme's VMs, in the simulator.
      const alpha = stack.sim.cluster('alpha');
      const victim = [...alpha.state.guests.values()].find(
        (g) => alpha.state.access.poolOfVm(g.vmid)?.poolid === 'acme',
      )!;
      const upid = alpha.addTask({
        node: victim.node,
        type: 'qmstart',
        id: String(victim.vmid),
        user: 'root@pam',
        status: 'start failed: QEMU exited with code 1',
      });

      // pve-sync stores it and the auditor chains it into acme's trail.
      const record = await eventually(
        async () => {
          const d = await acme.data<{
            auditLog: { edges: Array<{ node: { upid: string; outcome: string; action: string; chainId: string } }> };
          }>(
            'query ($u: String!) { auditLog(first: 20, filter: { text: $u }) { edges { node { upid outcome action chainId } } } }',
            { u: upid },
          );
          return d.auditLog.edges.find((e) => e.node.upid === upid && e.node.outcome === 'failure')?.node;
        },
        60_000,
        'the failed task in acme’s audit log',
      ).catch(async (err: unknown) => {
        const inbox = await db.query(
          "SELECT dedup_key, processed_at, last_error, event FROM audit_inbox WHERE event->>'upid' = $1",
          [upid],
        );
        const recs = await db.query('SELECT chain_id, seq, action, outcome FROM audit_record WHERE upid = $1', [upid]);
        const task = await db.query('SELECT * FROM pve_task WHERE upid = $1', [upid]);
        throw new Error(
          `${String(err)}\ninbox: ${JSON.stringify(inbox.rows)}\nrecords: ${JSON.stringify(recs.rows)}\ntask: ${JSON.stringify(task.rows)}\nlogs:\n${stack.logs.slice(-40).join('\n')}`,
        );
      });
      expect(record.chainId).toBe(acmeLogin.tenant!.id);
      const { rows } = await db.query('SELECT upid, outcome, status FROM pve_task WHERE upid = $1', [upid]);
      expect(rows[0]).toMatchObject({ upid, outcome: 'error' });

      // …and not in globex's.
      const globexLog = await globex.data<{ auditLog: { edges: Array<{ node: { upid: string | null } }> } }>(
        'query ($u: String!) { auditLog(first: 50, filter: { text: $u }) { edges { node { upid } } } }',
        { u: upid },
      );
      expect(globexLog.auditLog.edges.filter((e) => e.node.upid === upid)).toEqual([]);

      // The alert reaches acme's subscriber live, and never globex's.
      // (The seeded history has failed tasks of its own, so match this guest's alert by its title.)
      const alert = await eventually(
        async () =>
          acmeAlerts.items.find(
            (i) =>
              i.data?.alertStream?.ruleCode === 'TASK-002' &&
              i.data.alertStream.title.includes(`guest ${victim.vmid} `) &&
              i.data.alertStream.state === 'firing',
          ),
        60_000,
        'TASK-002 for the victim on the acme subscription',
      );
      const alertId = alert.data.alertStream.alertId as string;
      const { rows: alertRows } = await db.query('SELECT tenant_id FROM alert WHERE id = $1', [alertId]);
      expect(alertRows[0]?.tenant_id).toBe(acmeLogin.tenant!.id);
      await new Promise((r) => setTimeout(r, 1500));
      expect(globexAlerts.items.filter((i) => i.data?.alertStream?.alertId === alertId)).toEqual([]);
      // Everything globex's subscriber got belongs to globex.
      const globexAlertIds = [...new Set(globexAlerts.items.map((i) => i.data?.alertStream?.alertId as string))];
      if (globexAlertIds.length > 0) {
        const owners = await db.query('SELECT DISTINCT tenant_id FROM alert WHERE id = ANY($1::uuid[])', [
          globexAlertIds,
        ]);
        expect(owners.rows.map((r) => r.tenant_id)).toEqual([globexLogin.tenant!.id]);
      }
      expect(acmeAlerts.errors).toEqual([]);

      // The records of each chain verify: gapless seq and each prev_hash is the previous record_hash.
      const chain = await db.query<{ seq: string; prev_hash: Buffer; record_hash: Buffer }>(
        'SELECT seq, prev_hash, record_hash FROM audit_record WHERE chain_id = $1 ORDER BY seq',
        [acmeLogin.tenant!.id],
      );
      chain.rows.forEach((r, i) => {
        expect(Number(r.seq)).toBe(i + 1);
        if (i > 0) expect(r.prev_hash.equals(chain.rows[i - 1]!.record_hash)).toBe(true);
      });
    } finally {
      acmeAlerts.dispose();
      globexAlerts.dispose();
      await acmeWs.dispose();
      await globexWs.dispose();
    }
  }, 240_000);
});
