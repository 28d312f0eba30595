// The goal of each reported metric, from the issues. `check` says whether a run met it; metrics
// without a goal are reported for comparison only.
export interface Goal {
  text: string;
  check?: (value: number, all: Record<string, number>) => boolean;
}

export const GOALS: Record<string, Record<string, Goal>> = {
  acl: {
    checks_per_s: { text: '≥ 1,000,000', check: (v) => v >= 1_000_000 },
    compile_ms: { text: '< 50', check: (v) => v < 50 },
  },
  sync: {
    initial_sync_s: { text: '< 30', check: (v) => v < 30 },
    peak_rss_mb: { text: '< 300', check: (v) => v < 300 },
    poll_ms_0: { text: 'small: no work without new items' },
    poll_ms_100: { text: 'grows with new items, not history' },
    poll_ms_10000: { text: 'grows with new items, not history' },
  },
  audit: {
    events_per_s: { text: '≥ 5,000', check: (v) => v >= 5_000 },
    alert_latency_p50_ms: { text: 'at 500 events/s (reported)' },
    alert_latency_p99_ms: { text: 'at 500 events/s (reported)' },
  },
  gateway: {
    rps_shielded: { text: 'compared with rps_bare' },
    rps_bare: { text: 'same schema, no shield or tenant scoping' },
    p99_ratio: { text: '≤ 1.10 (shielded p99 / bare p99)', check: (v) => v <= 1.1 },
    sql_per_request_10: {
      text: 'same small constant as page size 100',
      check: (v, all) => v === all.sql_per_request_100 && v <= 10,
    },
    sql_per_request_100: {
      text: 'same small constant as page size 10',
      check: (v, all) => v === all.sql_per_request_10 && v <= 10,
    },
  },
  subscriptions: {
    delivery_p50_ms: { text: 'publication → subscriber (reported)' },
    delivery_p99_ms: { text: '2,000 subscribers over 100 tenants (reported)' },
    subscribers: { text: '2,000 over 100 tenants, two gateways', check: (v) => v >= 2000 },
    delivered: { text: '= expected', check: (v, all) => v === all.expected },
    cross_tenant_deliveries: { text: '0', check: (v) => v === 0 },
    duplicates: { text: '0 (the feed dedups by cursor)', check: (v) => v === 0 },
    gateway_rss_mb: { text: 'peak of either gateway, ~1,000 subscriptions each (reported)' },
    gateway_cpu_ms_per_delivery: { text: 'both gateways, measured phase (reported)' },
    pg_xacts_per_delivery: { text: 'all processes, measured phase (reported)' },
  },
};
