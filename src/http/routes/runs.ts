import { createRoute, z } from '@hono/zod-openapi'
import { auditAs } from '../api-context.ts'
import { resourceRouter } from '../resource-router.ts'
import type { ApiRouter, RouteKit } from '../route-kit.ts'
import { errorResponses, json } from './responses.ts'
import { listJobRuns, listRecentFiles } from '../../jobs/queries.ts'

/**
 * GET /v1/admin/runs (role admin): recent job runs and file imports, as `passerelle runs` shows them. Technical
 * facts only: names, counts, outcomes, reasons (which name records and rules, never values).
 */
const RunsQuery = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(50).openapi({ description: 'How many of each (1 to 200)' }),
})

const JobRunSchema = z.object({
  id: z.number().int(),
  job: z.string(),
  startedAt: z.string(),
  finishedAt: z.string().nullable(),
  outcome: z.string().nullable(),
  counts: z.record(z.string(), z.number()),
  error: z.string().nullable(),
})

const FileRunSchema = z.object({
  id: z.number().int(),
  flow: z.string(),
  name: z.string(),
  status: z.string(),
  kind: z.string().nullable(),
  recordsAccepted: z.number().int(),
  recordsRejected: z.number().int(),
  reason: z.string().nullable(),
  finishedAt: z.string(),
})

const route = createRoute({
  middleware: [auditAs('api.admin.runs.list')] as const,
  method: 'get',
  path: '/admin/runs',
  tags: ['Administration'],
  security: [{ bearerAuth: [] }],
  summary: 'Recent job runs and file imports',
  request: { query: RunsQuery },
  responses: {
    200: json(z.object({ jobs: z.array(JobRunSchema), files: z.array(FileRunSchema) }), 'Most recent first'),
    ...errorResponses(400, 404),
  },
})

const iso = (value: unknown) => (value === null || value === undefined ? null : new Date(value as string).toISOString())

export function runsRoutes(kit: RouteKit): ApiRouter {
  const router = resourceRouter(['admin'])
  router.openapi(route, async (c) => {
    const { limit } = c.req.valid('query')
    const jobs = { rows: await listJobRuns(kit.db, limit) }
    const files = { rows: await listRecentFiles(kit.db, limit) }
    return c.json(
      {
        jobs: jobs.rows.map((j) => ({
          id: j.id,
          job: j.job,
          startedAt: iso(j.started_at)!,
          finishedAt: iso(j.finished_at),
          outcome: j.outcome,
          counts: (typeof j.counts === 'string' ? JSON.parse(j.counts) : j.counts) as Record<string, number>,
          error: j.error,
        })),
        files: files.rows.map((f) => ({
          id: f.id,
          flow: f.flow_id,
          name: f.name,
          status: f.status,
          kind: f.kind,
          recordsAccepted: f.records_accepted,
          recordsRejected: f.records_rejected,
          reason: f.reason,
          finishedAt: iso(f.finished_at)!,
        })),
      },
      200,
    )
  })
  return router
}
