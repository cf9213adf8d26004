import type { Server } from 'node:http'
import { serve } from '@hono/node-server'
import { AuditWriter } from '../audit/audit-log.ts'
import { checkpointAuditLog } from '../audit/write-checkpoint.ts'
import { CredentialChanges } from '../auth/credential-changes.ts'
import { DEFAULT_API_OPTIONS } from '../config/config.ts'
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

/** How long a stop waits for requests under way before closing their connections. */
export const STOP_DRAIN_MS = 10_000

/** The server could not listen: the port or the host setting is named, the system's reason given. */
export class ListenError extends Error {
  readonly code = 'listen_failed'
  constructor(options: { port: number; host: string }, cause: NodeJS.ErrnoException) {
    const reason =
      cause.code === 'EADDRINUSE'
        ? `port ${options.port} is already in use (PORT, or serve --port)`
        : cause.code === 'EACCES'
          ? `port ${options.port} needs privileges (PORT, or serve --port: use a port above 1023)`
          : cause.code === 'EADDRNOTAVAIL' || cause.code === 'ENOTFOUND' || cause.code === 'EAI_AGAIN'
            ? `host "${options.host}" is not an address of this machine (PASSERELLE_HOST, or serve --host)`
            : `${cause.code ?? 'error'} on ${options.host}:${options.port} (PORT / PASSERELLE_HOST)`
    super(`cannot listen: ${reason}; nothing was started`)
  }
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
  // The scheduler starts once the server listens: a port taken or a host this machine does not have stops the
  // start with nothing running (see listen below).
  let scheduler: Scheduler | undefined
  let server: Server | undefined
  let url: string | undefined
  const audit = new AuditWriter(ctx.db)
  audit.onBatch = (_events, seconds) => metrics.auditWriteSeconds.observe(seconds)
  if (options.api) {
    const credentialChanges = new CredentialChanges()
    // The API's settings as the API applies them (defaults under what is set): the console trusts sessions as long.
    const apiOptions = { ...DEFAULT_API_OPTIONS, ...ctx.config.api }
    const app = createApp({
      db: ctx.db,
      keys: ctx.keys,
      purposes: declarations.purposes,
      audit,
      log: ctx.log,
      options: apiOptions,
      schedulerRunning: () => (scheduler ? scheduler.running : null),
      credentialChanges,
    })
    app.route(
      '/console',
      createConsoleApp({
        db: ctx.db,
        keys: ctx.keys,
        purposes: declarations.purposes,
        audit,
        log: ctx.log,
        api: app,
        oidc: options.consoleOidc ?? consoleOidcFromSettings(ctx),
        sessionMinutes: ctx.config.console.sessionMinutes,
        sessionCacheMs: apiOptions.tokenCacheMs,
        credentialChanges,
        register: { declarations, config: ctx.config },
      }),
    )
    server = await new Promise<Server>((resolve, reject) => {
      // Plain HTTP/1.1 (no `createServer` option): a node:http Server.
      const s = serve({ fetch: app.fetch, port: options.port, hostname: options.host }, () => {
        s.off('error', refused)
        resolve(s)
      }) as Server
      const refused = (error: NodeJS.ErrnoException) => reject(new ListenError(options, error))
      s.once('error', refused)
    })
    // A client that sends its request a byte at a time must not hold a stop for minutes (a container's grace
    // period is 10 to 30 s): headers within 20 s, a whole request within 60 s.
    server.headersTimeout = 20_000
    server.requestTimeout = 60_000
    const address = server.address()
    const port = typeof address === 'object' && address ? address.port : options.port
    url = `http://${options.host === '0.0.0.0' ? '127.0.0.1' : options.host}:${port}`
    ctx.log.info({ url }, 'api listening')
  }
  if (options.scheduler) scheduler = startScheduler({ db: ctx.db, log: ctx.log }, options.jobs)
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
          // Idle keep-alive connections close now; requests under way get STOP_DRAIN_MS to finish, then their
          // connections are closed too (a slow or stalled client cannot hold the stop).
          const closed = new Promise<void>((resolve) => s.close(() => resolve()))
          s.closeIdleConnections()
          const timer = setTimeout(() => s.closeAllConnections(), STOP_DRAIN_MS)
          await closed
          clearTimeout(timer)
        }
        await audit.drain()
        // The final checkpoint of a clean shutdown: everything this process wrote is attested outside the database.
        await checkpointAuditLog(ctx, 'shutdown')
      })()
      return stopping
    },
  }
}
