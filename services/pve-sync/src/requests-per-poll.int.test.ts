// How many HTTP requests one steady-state poll of a demo connection makes, per path (the simulator
// counts them). Guards against silently adding requests to every poll.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SimCluster } from '@tenantgate/pve-sim';
import { createHarness, type Harness } from './test-harness.ts';

let h: Harness;
let alpha: SimCluster;

beforeAll(async () => {
  h = await createHarness('requests');
  alpha = h.sim.cluster('alpha');
});
afterAll(async () => {
  await h?.close();
});

describe('requests per poll', () => {
  it('regression: a steady-state poll does not re-read each node time zone', async () => {
    const conn = await h.connect(alpha);
    const poller = h.poller();
    alpha.resetRequestCounts();
    await poller.poll(conn);
    const first = alpha.requestCounts();
    alpha.resetRequestCounts();
    await poller.poll(conn);
    const steady = alpha.requestCounts();
    const total = (c: Record<string, number>) => Object.values(c).reduce((a, b) => a + b, 0);
    console.log(JSON.stringify({ first: total(first), steady: total(steady), steadyByPath: steady }));
    expect(first['GET /nodes/pve-a1/time']).toBe(1);
    expect(steady['GET /nodes/pve-a1/time']).toBeUndefined();
    expect(total(steady)).toBeLessThanOrEqual(16);
  });
});
