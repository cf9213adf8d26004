import { Counter, Gauge, Histogram } from 'prom-client'
import { registry } from '../../metrics/metrics.ts'

/** Metrics of the France Travail partner APIs and the outbox. Labels: flow ids, endpoints, outcomes; never a value. */
export const apiMetrics = {
  calls: new Counter({
    name: 'passerelle_francetravail_api_calls_total',
    help: 'HTTP calls to the France Travail partner APIs, by flow, endpoint and outcome (2xx, 4xx, 401, 429, 5xx, timeout, network)',
    labelNames: ['flow', 'endpoint', 'outcome'] as const,
    registers: [registry],
  }),
  callSeconds: new Histogram({
    name: 'passerelle_francetravail_api_call_seconds',
    help: 'Duration of France Travail partner API calls, by endpoint',
    labelNames: ['flow', 'endpoint'] as const,
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  }),
  inFlight: new Gauge({
    name: 'passerelle_francetravail_api_calls_in_flight',
    help: 'France Travail partner API calls in flight',
    labelNames: ['flow'] as const,
    registers: [registry],
  }),
  lookups: new Counter({
    name: 'passerelle_francetravail_lookups_total',
    help: 'Persons looked up with rechercher-usager, by flow and outcome (found, several, not_recognised, failed)',
    labelNames: ['flow', 'outcome'] as const,
    registers: [registry],
  }),
  outboxDepth: new Gauge({
    name: 'passerelle_outbox_messages',
    help: 'Outbox messages not delivered, by topic and state (pending, dead)',
    labelNames: ['topic', 'state'] as const,
    registers: [registry],
  }),
  outboxOldestPendingSeconds: new Gauge({
    name: 'passerelle_outbox_oldest_pending_seconds',
    help: 'Age of the oldest pending outbox message, by topic (0 when none)',
    labelNames: ['topic'] as const,
    registers: [registry],
  }),
}
