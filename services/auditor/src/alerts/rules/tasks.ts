// TASK-001 task failure spike: per node, ≥ max(minFailures, factor × baseline) failures in the
// window, where the baseline is the mean failures per window over the preceding baseline period.
import { z } from 'zod';
import type { RuleDefinition } from '../types.ts';

const Params = z.object({
  minFailures: z.number().int().min(1).default(5),
  factor: z.number().positive().default(3),
  windowSeconds: z.number().int().positive().default(900),
  baselineSeconds: z.number().int().positive().default(86_400),
  bucketSeconds: z.number().int().positive().default(60),
});
type Params = z.output<typeof Params>;
/** Failure counts per bucket start (epoch ms) over baseline + window. */
type State = { b: Array<[number, number]>; firing?: boolean };

export const taskFailureSpike: RuleDefinition<Params, State> = {
  kind: 'task_failure_spike',
  params: Params,
  select: (e) =>
    e.category === 'task' && e.action.startsWith('task.') && e.outcome !== 'unknown' && e.node
      ? `${e.connectionId ?? '-'}:${e.node}`
      : null,
  evaluate(state, e, { params, severity }) {
    const bucketMs = params.bucketSeconds * 1000;
    const windowStart = e.occurredAt - params.windowSeconds * 1000;
    const horizon = windowStart - params.baselineSeconds * 1000;
    const buckets = new Map((state?.b ?? []).filter(([t]) => t > horizon - bucketMs));
    if (e.outcome === 'failure') {
      const bucket = Math.floor(e.occurredAt / bucketMs) * bucketMs;
      buckets.set(bucket, (buckets.get(bucket) ?? 0) + 1);
    }
    let inWindow = 0;
    let inBaseline = 0;
    for (const [t, n] of buckets) {
      if (t + bucketMs > windowStart) inWindow += n;
      else inBaseline += n;
    }
    const baseline = inBaseline / (params.baselineSeconds / params.windowSeconds);
    const threshold = Math.max(params.minFailures, params.factor * baseline);
    const dedupKey = `node:${e.connectionId ?? '-'}:${e.node}`;
    const next: State = { b: [...buckets].sort((a, b) => a[0] - b[0]) };
    if (inWindow >= threshold) {
      return {
        state: { ...next, firing: true },
        signals: [
          {
            type: 'fire',
            dedupKey,
            severity,
            title: `${inWindow} failed tasks on node ${e.node} in ${params.windowSeconds / 60} min (threshold ${Math.ceil(threshold)})`,
            labels: { node: e.node, failures: inWindow, baselinePerWindow: Number(baseline.toFixed(2)) },
          },
        ],
      };
    }
    if (state?.firing && inWindow < threshold / 2)
      return { state: next, signals: [{ type: 'resolve', dedupKey, note: 'failure rate back to normal' }] };
    return { state: { ...next, firing: state?.firing ?? false }, signals: [] };
  },
};
