import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'

/**
 * Prometheus metrics of the process, served on GET /metrics. Labels carry ids and outcomes, never personal values.
 */
export const registry = new Registry()
collectDefaultMetrics({ register: registry, prefix: 'passerelle_process_' })

export const metrics = {
  filesTotal: new Counter({
    name: 'passerelle_files_total',
    help: 'Files processed, by flow and status (loaded, rejected, skipped)',
    labelNames: ['flow', 'status'] as const,
    registers: [registry],
  }),
  recordsTotal: new Counter({
    name: 'passerelle_records_total',
    help: 'Records read from flow files, by flow and outcome (accepted, rejected)',
    labelNames: ['flow', 'outcome'] as const,
    registers: [registry],
  }),
  jobDuration: new Histogram({
    name: 'passerelle_job_duration_seconds',
    help: 'Duration of scheduled and manual jobs',
    labelNames: ['job', 'outcome'] as const,
    buckets: [0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600],
    registers: [registry],
  }),
  jobLastSuccess: new Gauge({
    name: 'passerelle_job_last_success_timestamp_seconds',
    help: 'Unix time of the last successful run of each job',
    labelNames: ['job'] as const,
    registers: [registry],
  }),
  httpRequests: new Counter({
    name: 'passerelle_http_requests_total',
    help: 'API requests by route and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [registry],
  }),
  httpDuration: new Histogram({
    name: 'passerelle_http_request_duration_seconds',
    help: 'API request duration by route',
    labelNames: ['method', 'route'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  }),
  auditWriteSeconds: new Histogram({
    name: 'passerelle_audit_write_seconds',
    help: 'Latency of audit log batch writes',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25],
    registers: [registry],
  }),
  retentionRows: new Counter({
    name: 'passerelle_retention_rows_total',
    help: 'Rows archived, destroyed or cleared by retention, by policy and action',
    labelNames: ['policy', 'action'] as const,
    registers: [registry],
  }),
}
