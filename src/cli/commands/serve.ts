import type { Command } from 'commander'
import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { log } from '../../log/logger.ts'
import type { OidcClient } from '../../console/oidc-client.ts'
import { cliConfig, cliDeclarations, openContext } from '../context.ts'

interface ServeFlags {
  port?: string
  host?: string
  scheduler: boolean
  api: boolean
  demo?: boolean
}

export function register(program: Command): void {
  program
    .command('serve')
    .description('run the partner API and the scheduler (nightly pulls, retention, monthly extracts) in one process')
    .option('--port <n>', 'HTTP port (default PORT or 8080)')
    .option('--host <address>', 'listen address (default PASSERELLE_HOST or 127.0.0.1)')
    .option('--no-scheduler', 'serve the API only (run the scheduler in another instance)')
    .option('--no-api', 'run the scheduler only')
    .option('--demo', 'with no production configuration: embedded SFTP with synthetic files, one full cycle at once, demo tokens')
    .action(async (flags: ServeFlags) => {
      const { startServer } = await import('../../server/start-server.ts')
      const { gatewayJobs } = await import('../../server/jobs.ts')
      const { runJob } = await import('../../jobs/run-job.ts')
      const started = performance.now()
      // What a killed pull left in the staging area (full copies of producers' files) goes at every start, before
      // the database is even opened.
      const { sweepStaging } = await import('../../sftp/staging-area.ts')
      const config = cliConfig()
      // Declarations `passerelle check` rejects stop the server here (exit 78), before anything is opened.
      const declarations = cliDeclarations()
      await sweepStaging(config.stagingDir, { flowIds: [...declarations.flows.keys()], log })
      const ctx = await openContext(config, { role: 'serve' })
      // --port and --host override PORT and PASSERELLE_HOST: validated with every other setting by the entry point.
      const { port, host } = ctx.config

      // The flows and extract recipients name their own SFTP variables and keys: the entry point hands its environment
      // to the jobs, which read only the names the declarations give.
      let env: NodeJS.ProcessEnv = process.env
      let closeDemo: (() => Promise<void>) | undefined
      const production = productionReasons(ctx.config.databaseUrl, process.env)
      const demo = flags.demo && production.length === 0
      if (flags.demo && !demo) {
        ctx.log.info({ reasons: production }, 'production configuration detected: demo disabled')
      }
      let demoCycle: (() => Promise<void>) | undefined
      if (demo) {
        const { startEmbeddedSftpServer } = await import('../../sftp/embedded-server.ts')
        const { demoFlowEnv, demoSmimeKeys, seedDemoFiles } = await import('../../demo/seed-demo-files.ts')
        const demoDir = path.join(ctx.config.dataDir, 'demo')
        const sftp = await startEmbeddedSftpServer({ root: path.join(demoDir, 'sftp') })
        closeDemo = () => sftp.close()
        const smime = demoSmimeKeys(demoDir)
        if (!smime) ctx.log.info('openssl not found: the encrypted SPIE demo files are not written')
        const seeded = await seedDemoFiles(path.join(demoDir, 'sftp'), new Date(), smime)
        if (seeded.written.length > 0) ctx.log.info({ files: seeded.written.length }, 'synthetic demo files dropped on the embedded sftp server')
        env = { ...process.env, ...demoFlowEnv(sftp, smime), PASSERELLE_EXTRACT_KEYS_DIR: demoExtractKeys(demoDir) }
        demoCycle = async () => {
          const { ensureDemoAccounts } = await import('../../demo/demo-accounts.ts')
          await ensureDemoAccounts(ctx.db)
          const jobs = gatewayJobs(ctx, declarations, ctx.config.schedules, env)
          const order = ['ingest:caf-instruction', 'ingest:caf-beneficiaires', 'ingest:msa-beneficiaires', 'ingest:france-travail', 'ingest:france-travail-mensuel', 'ingest:france-travail-spie', 'ingest:france-travail-spie-actions', 'ingest:orientations', 'retention']
          const report = (name: string, result: { outcome: string; counts: object; error?: string | undefined }) =>
            process.stdout.write(`  ${result.outcome.padEnd(9)} ${name}  ${JSON.stringify(result.counts)}${result.error ? `  ${result.error}` : ''}\n`)
          for (const name of order) {
            const job = jobs.find((j) => j.name === name)
            if (!job) continue
            report(name, await runJob({ db: ctx.db, log: ctx.log }, job.name, (lockLost) => job.run(lockLost)))
          }
          // France Travail partner APIs against the local simulator: a lookup, an orientation read, an orientation sent.
          const { runFranceTravailApiDemo } = await import('../../demo/france-travail-api-demo.ts')
          const ftApi = await runFranceTravailApiDemo(ctx, declarations.apiFlows, declarations.stored)
          if (ftApi.simulator) {
            const close = closeDemo
            closeDemo = async () => {
              await ftApi.simulator!.close()
              await close?.()
            }
          }
          if (ftApi.result) report(ftApi.result.job, ftApi.result)
          // The demo population is far too small for k-anonymous microdata (k = 11 over nine quasi-identifiers): the
          // monthly microdata job would rightly refuse it. The protected aggregate tables work at any size.
          const { runExtract } = await import('../../statistics/run-extract.ts')
          const statistiques = declarations.purposes.get('statistiques')
          for (const table of declarations.statistics.get('statistiques')?.aggregates ?? []) {
            const name = `extract:statistiques:observatoire:${table.name}`
            report(
              name,
              await runJob({ db: ctx.db, log: ctx.log }, name, async () => {
                const result = await runExtract(
                  { db: ctx.db, log: ctx.log, env, sftp: ctx.config.sftp },
                  { purpose: statistiques!, recipientId: 'observatoire', aggregate: table.name, outDir: ctx.config.extractsDir, actor: 'demo' },
                )
                return { rows: result.manifest.file.rows }
              }),
            )
          }
        }
      }

      const jobs = gatewayJobs(ctx, declarations, ctx.config.schedules, env)
      // The demo's console signs in through a local OpenID Connect provider on loopback (ProConnect's contract),
      // started once the server's URL is known; a configured provider (PASSERELLE_OIDC_*) always wins.
      let demoOidc: OidcClient | undefined
      const useDemoOidc = demo && !ctx.config.console.oidc
      let server: Awaited<ReturnType<typeof startServer>>
      try {
        server = await startServer(ctx, declarations, {
          port,
          host,
          api: flags.api,
          scheduler: flags.scheduler,
          jobs,
          ...(useDemoOidc ? { consoleOidc: () => demoOidc } : {}),
        })
      } catch (error) {
        // Nothing was started (the scheduler starts once the server listens): close what is open, then say why.
        await closeDemo?.()
        await ctx.close()
        throw error
      }
      let closeOidc: (() => Promise<void>) | undefined
      if (useDemoOidc && server.url) {
        const { ensureDemoAccounts, demoAgents } = await import('../../demo/demo-accounts.ts')
        const { startLocalOidcProvider } = await import('../../console/local-oidc-provider.ts')
        const { createOidcClient } = await import('../../console/oidc-client.ts')
        await ensureDemoAccounts(ctx.db)
        const provider = await startLocalOidcProvider({
          agents: demoAgents(),
          redirectUris: [`${server.url}/console/auth/callback`],
          postLogoutUris: [`${server.url}/console`],
        })
        demoOidc = createOidcClient(provider.settings(`${server.url}/console/auth/callback`, `${server.url}/console`))
        closeOidc = () => provider.close()
      }

      let stopping = false
      const stop = async (signal: string) => {
        if (stopping) return
        stopping = true
        ctx.log.info({ signal }, 'shutting down')
        await server.stop()
        await closeOidc?.()
        await closeDemo?.()
        await ctx.close()
        process.exit(0)
      }
      process.on('SIGINT', () => void stop('SIGINT'))
      process.on('SIGTERM', () => void stop('SIGTERM'))

      if (demoCycle) {
        process.stdout.write('Passerelle demo — SYNTHETIC data only (generated people, not real beneficiaries)\n')
        process.stdout.write('First cycle: pull every flow → load → retention → extract\n')
        await demoCycle()
        const { issueDemoTokens } = await import('../../demo/demo-accounts.ts')
        const accounts = await issueDemoTokens(ctx.db, declarations.purposes, new Date())
        process.stdout.write(demoBanner(server.url, accounts.tokens, accounts.skipped, (performance.now() - started) / 1000, demoOidc !== undefined))
      } else if (server.url) {
        process.stdout.write(`Passerelle listening on ${server.url} (docs ${server.url}/docs)\n`)
      }
    })
}

/** What makes this a production setup, in which the demo never runs. */
export function productionReasons(databaseUrl: string | undefined, env: NodeJS.ProcessEnv): string[] {
  const reasons: string[] = []
  if (databaseUrl) reasons.push('DATABASE_URL is set')
  const sftp = Object.keys(env).filter((k) => /_SFTP_HOST$/.test(k) && env[k])
  if (sftp.length > 0) reasons.push(`${sftp.join(', ')} set`)
  return reasons
}

/** A demo extract key for the observatoire recipient, generated once beside the demo data (mode 600). */
function demoExtractKeys(demoDir: string): string {
  const dir = path.join(demoDir, 'extract-keys')
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  const file = path.join(dir, 'observatoire.v1.key')
  if (!existsSync(file)) writeFileSync(file, randomBytes(32).toString('base64') + '\n', { mode: 0o600 })
  return dir
}

function demoBanner(url: string | undefined, tokens: { role: string; email: string; organisation: string; purpose: string; token: string }[], skipped: string[], seconds: number, console = false): string {
  const lines = [
    '',
    `Ready in ${seconds.toFixed(1)} s.`,
    url && console ? `  Console    ${url}/console   (click "Se connecter", then pick a demo agent: referent, DPO, admin...)` : '',
    url ? `  API        ${url}/v1` : '  API        (disabled)',
    url ? `  Docs       ${url}/docs` : '',
    url ? `  OpenAPI    ${url}/openapi.json` : '',
    url ? `  Health     ${url}/healthz  ${url}/readyz  ${url}/metrics` : '',
    '',
    'Demo tokens (valid 30 days, shown once):',
    ...tokens.map((t) => `  ${t.role.padEnd(18)} ${t.purpose.padEnd(20)} ${t.token}   (${t.email}, ${t.organisation})`),
    ...skipped.map((s) => `  (no token) ${s}`),
    '',
    url && tokens[0] ? `Try: curl -H "Authorization: Bearer ${tokens[0].token}" ${url}/v1/beneficiaires?limit=5` : '',
    'Stop with Ctrl-C.',
    '',
  ]
  return lines.filter((l, i, all) => l !== '' || all[i - 1] !== '').join('\n') + '\n'
}
