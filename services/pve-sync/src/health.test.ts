import { describe, expect, it } from 'vitest';
import { inBackoff } from './health.ts';

const at = (ms: number): Date => new Date(1_700_000_000_000 + ms);

describe('back-off of a failing connection', () => {
  it('never skips a healthy connection', () => {
    expect(inBackoff({ consecutiveFailures: 0, lastAttemptAt: at(0) }, 10_000, 300_000, at(1))).toBe(false);
  });

  it('doubles the wait per consecutive failure, up to the maximum', () => {
    const h = (n: number) => ({ consecutiveFailures: n, lastAttemptAt: at(0) });
    // 1 failure: the next scheduled poll (one interval later) runs.
    expect(inBackoff(h(1), 10_000, 300_000, at(10_000))).toBe(false);
    // 3 failures: wait 40 s.
    expect(inBackoff(h(3), 10_000, 300_000, at(20_000))).toBe(true);
    expect(inBackoff(h(3), 10_000, 300_000, at(40_000))).toBe(false);
    // 20 failures: capped at 300 s.
    expect(inBackoff(h(20), 10_000, 300_000, at(290_000))).toBe(true);
    expect(inBackoff(h(20), 10_000, 300_000, at(300_000))).toBe(false);
  });
});
