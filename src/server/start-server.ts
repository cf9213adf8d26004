import { serve, type ServerType } from '@hono/node-server'
import { AuditWriter } from '../audit/audit-log.ts'
import { checkpointAuditLog } from '../audit/write-checkpoint.ts'
import type { AppContext } from '../cli/context.ts'
import { migrationsApplied } from '../db/migrate.ts'
import type { Declarations } from '../declarations/load-declarations.ts'
import { createApp, type ApiExtension } from '../http/app.ts'
import { metrics, registry } from '../metrics/metrics.ts'
import { startScheduler, type ScheduledJob, type Scheduler } from '../scheduler/start-scheduler.ts'
import { registerExtractRoutes } from '../statistics/http-routes.ts'
import { registerRightsRoutes } from '../rights/http-routes.ts'
import { registerRunsRoutes } from './runs-routes.ts'
import { registerOutboxRoutes } from '../outbox/http-routes.ts'

export interface ServerOptions {
  port: number
  host: string
  api: boolean
  scheduler: boolean
  jobs: readonly ScheduledJob[]
}

export interface RunningServer {
  url: string | undefined
  scheduler: Scheduler | undefined
  /** Graceful stop: no new jobs, current file rolled back or finished, HTTP drained, audit flushed and checkpointed. */
  stop(): Promise<void>
}

/** Extra /v1 routes of other features, mounted on the partner API. */
export const API_EXTENSIONS: readonly ApiExtension[] = [registerExtractRoutes, registerRunsRoutes, registerRightsRoutes, registerOutboxRoutes]

/**
 * The long-running process: the partner API and the scheduler (either can be turned off to split them across
 * instances), plus /healthz, /readyz and /metrics. The database connection is the caller's to close.
 */
export async function startServer(ctx: AppContext, declarations: Declarations, options: ServerOptions): Promise<RunningServer> {
  const scheduler = options.scheduler ? startScheduler({ db: ctx.db, log: ctx.log }, options.jobs) : undefined
  let server: ServerType | undefined
  let url: string | undefined
  const audit = new AuditWriter(ctx.db)
  audit.onBatch = (_events, seconds) => metrics.auditWriteSeconds.observe(seconds)
  if (options.api) {
    const app = createApp({
      db: ctx.db,
      keys: ctx.keys,
      purposes: declarations.purposes,
      audit,
      log: ctx.log,
      options: ctx.config.api,
      extensions: API_EXTENSIONS,
    })
    app.get('/readyz', async (c) => {
      const checks = { database: false, migrations: false, scheduler: scheduler ? scheduler.running : null }
      try {
        await ctx.db.query('select 1')
        checks.database = true
        checks.migrations = await migrationsApplied(ctx.db)
      } catch {
        // Reported below; the reason is in the logs, never in the response.
      }
      const ready = checks.database && checks.migrations && checks.scheduler !== false
      return c.json({ ready, checks }, ready ? 200 : 503)
    })
    app.get('/metrics', async (c) => {
      c.header('Content-Type', registry.contentType)
      return c.body(await registry.metrics())
    })
    server = await new Promise<ServerType>((resolve) => {
      const s = serve({ fetch: app.fetch, port: options.port, hostname: options.host }, () => resolve(s))
    })
    const address = server.address()
    const port = typeof address === 'object' && address ? address.port : options.port
    url = `http://${options.host === '0.0.0.0' ? '127.0.0.1' : options.host}:${port}`
    ctx.log.info({ url }, 'api listening')
  }
  let stopping: Promise<void> | undefined
  return {
    url,
    scheduler,
    stop() {
      stopping ??= (async () => {
        ctx.log.info({}, 'stopping')
        await scheduler?.stop()
        if (server) {
          const s = server
          await new Promise<void>((resolve) => s.close(() => resolve()))
        }
        await audit.drain()
        // The final checkpoint of a clean shutdown: everything this process wrote is attested outside the database.
        await checkpointAuditLog(ctx, 'shutdown')
      })()
      return stopping
    },
  }
}
