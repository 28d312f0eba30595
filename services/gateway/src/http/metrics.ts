import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Prometheus metrics of one gateway app (its own registry, so tests can run several apps). */
export class GatewayMetrics {
  readonly registry = new Registry();
  readonly operations = new Counter({
    name: 'gateway_graphql_operations_total',
    help: 'GraphQL operations by type and outcome',
    labelNames: ['type', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly duration = new Histogram({
    name: 'gateway_graphql_duration_seconds',
    help: 'GraphQL operation duration',
    labelNames: ['type'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });
  readonly subscriptions = new Counter({
    name: 'gateway_subscriptions_started_total',
    help: 'graphql-ws subscriptions started',
    registers: [this.registry],
  });
  readonly authFailures = new Counter({
    name: 'gateway_auth_failures_total',
    help: 'Requests refused during authentication',
    registers: [this.registry],
  });

  constructor(defaults: boolean) {
    if (defaults) collectDefaultMetrics({ register: this.registry, prefix: 'gateway_' });
  }
}
