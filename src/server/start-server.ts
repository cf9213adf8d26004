import { serve, type ServerType } from '@hono/node-server'
import { AuditWriter } from '../audit/audit-log.ts'
import { checkpointAuditLog } from '../audit/write-checkpoint.ts'
import type { AppContext } from '../cli/context.ts'
import type { Declarations } from '../declarations/load-declarations.ts'
import { createConsoleApp } from '../console/console-app.ts'
import { createOidcClient, type OidcClient } from '../console/oidc-client.ts'
import { createApp } from '../http/app.ts'
import { metrics } from '../metrics/metrics.ts'
import { startScheduler, type ScheduledJob, type Scheduler } from '../scheduler/start-scheduler.ts'

export interface ServerOptions {
  port: number
  host: string
  api: boolean
  scheduler: boolean
  jobs: readonly ScheduledJob[]
  /** The console's OpenID Connect client when not from the settings (the demo's local provider, set once started). */
  consoleOidc?: () => OidcClient | undefined
}

export interface RunningServer {
  url: string | undefined
  scheduler: Scheduler | undefined
  /** Graceful stop: no new jobs, current file rolled back or finished, HTTP drained, audit flushed and checkpointed. */
  stop(): Promise<void>
}

function consoleOidcFromSettings(ctx: AppContext): OidcClient | undefined {
  const settings = ctx.config.console.oidc
  if (!settings) return undefined
  return createOidcClient(settings)
}

/**
 * The long-running process: the partner API and the scheduler (either can be turned off to split them across
 * instances); the app serves /healthz, /readyz and /metrics itself. The database connection is the caller's to close.
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
      schedulerRunning: () => (scheduler ? scheduler.running : null),
    })
    app.route('/console', createConsoleApp({ db: ctx.db, keys: ctx.keys, purposes: declarations.purposes, audit, log: ctx.log, api: app, oidc: options.consoleOidc ?? consoleOidcFromSettings(ctx), sessionMinutes: ctx.config.console.sessionMinutes, register: { declarations, config: ctx.config } }))
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
