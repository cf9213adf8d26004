import type { Command } from 'commander'
import { stat } from 'node:fs/promises'
import path from 'node:path'
import { withAdvisoryLock } from '../../db/advisory-lock.ts'
import { requireFlow } from '../../declarations/load-declarations.ts'
import type { IngestProgress } from '../../ingestion/byte-meter.ts'
import type { FileOutcome } from '../../ingestion/ingest-file.ts'
import { log } from '../../log/logger.ts'
import { ingestionLock } from '../../retention/run-retention.ts'
import { cliConfig, cliDeclarations, openContext } from '../context.ts'
import { createProgress } from '../format/progress.ts'

export function register(program: Command): void {
  program
    .command('ingest')
    .description('pull one or all flows over SFTP and load their files, or load a local file as if it came from a flow')
    .option('--flow <id>', 'only this flow')
    .option('--file <path>', 'load this local file as if it came from --flow')
    .option('--json', 'print one JSON object { files: [...] } instead of text')
    .action(async (options: { flow?: string; file?: string; json?: boolean }) => {
      if (options.file && !options.flow) throw new Error('--file needs --flow: say which flow the file belongs to')
      // Loaded on use: `passerelle --help` stays fast and does not load the parsers.
      const { ingestFile } = await import('../../ingestion/ingest-file.ts')
      const { pullFlow } = await import('../../ingestion/pull-flow.ts')
      const { sweepStaging } = await import('../../sftp/staging-area.ts')
      // What a killed pull left in the staging area (full copies of producers' files) goes first, before the
      // database is even opened.
      const config = cliConfig()
      // Declarations `passerelle check` rejects stop here (exit 78), before anything is opened or loaded.
      const declarations = cliDeclarations()
      await sweepStaging(config.stagingDir, { flowIds: [...declarations.flows.keys()], log })
      const ctx = await openContext(config)
      const outcomes: FileOutcome[] = []
      try {
        const deps = {
          db: ctx.db,
          keys: ctx.keys,
          log: ctx.log,
          stored: declarations.stored,
          purposes: declarations.purposes,
          // A CNAF file older than its flow's retention horizon is refused.
          retention: declarations.retentionPolicies,
        }
        /**
         * Loads a flow under its ingestion lock, the scheduler's `job:ingest:<flow>`: retention archives a flow's
         * rows only while it holds that lock, so an import beside it would have its new memberships deleted with the
         * persons retention moves. When another run holds it (a scheduled pull, retention), nothing is loaded for the
         * flow and the command ends with exit 75 (try again later).
         */
        const underLock = async (flowId: string, load: (signal: AbortSignal) => Promise<void>) => {
          const locked = await withAdvisoryLock(ctx.db, ingestionLock(flowId), load)
          if (!locked.acquired) {
            process.stderr.write(`flow ${flowId} is being loaded or archived by another run (advisory lock held): nothing loaded for it; try again later\n`)
            process.exitCode = 75
          }
        }
        if (options.file) {
          const flow = requireFlow(declarations, options.flow!)
          const filePath = path.resolve(options.file)
          const info = await stat(filePath)
          await underLock(flow.id, async (signal) => {
            const progress = options.json ? undefined : createProgress(path.basename(filePath))
            try {
              outcomes.push(
                await ingestFile(deps, flow, { path: filePath, name: path.basename(filePath), source: 'local', modifiedAt: info.mtime }, {
                  signal,
                  onProgress: (p) => progress?.update(p),
                }),
              )
            } finally {
              progress?.done()
            }
          })
        } else {
          const flows = options.flow ? [requireFlow(declarations, options.flow)] : [...declarations.flows.values()]
          for (const flow of flows) {
            if (!flow.source) {
              if (options.flow) throw new Error(`flow "${flow.id}" declares no SFTP source: use --file to load a local file`)
              continue
            }
            await underLock(flow.id, async (signal) => {
              const progress = options.json ? undefined : createProgress(flow.id)
              try {
                outcomes.push(
                  // A flow names its own SFTP variables (`${CAF_SFTP_HOST}`, private_key_env...): the entry point hands its
                  // environment to the pull, which reads only the names the declaration gives.
                  ...(await pullFlow({ ...deps, config: ctx.config, env: process.env }, flow, {
                    signal,
                    onProgress: (p: IngestProgress) => progress?.update(p),
                  })),
                )
              } finally {
                progress?.done()
              }
            })
          }
        }
      } finally {
        await ctx.close()
      }
      if (options.json) {
        const files = outcomes.map((o) => ({
          name: o.name,
          flow: o.flow,
          status: o.status,
          accepted: o.accepted,
          rejected: o.rejected,
          superseded: o.superseded,
          ...(o.matching ? { matching: o.matching } : {}),
          warned: o.warned ?? 0,
          warnings: o.warnings ?? {},
          skipped: o.skipped ?? 0,
          skips: o.skips ?? {},
          reason: o.reason ?? null,
          code: o.code ?? null,
          fileId: o.fileId ?? null,
          kind: o.kind ?? null,
          durationMs: o.durationMs,
        }))
        process.stdout.write(JSON.stringify({ files }, null, 2) + '\n')
      } else {
        if (outcomes.length === 0) process.stdout.write('no file to load\n')
        for (const o of outcomes) process.stdout.write(formatOutcome(o) + '\n')
      }
      if (outcomes.some((o) => o.status === 'rejected' || o.code === 'download_failed')) process.exitCode = 2
    })
}

export function formatOutcome(o: FileOutcome): string {
  const head = `${o.status.padEnd(8)} ${o.flow}  ${o.name}`
  const superseded = o.superseded > 0 ? `  superseded ${o.superseded}` : ''
  const warned = o.warned ? `  warned ${o.warned}` : ''
  const skippedRecords = o.skipped ? `  left out ${o.skipped}` : ''
  const matching = o.matching ? `  matched by identifier ${o.matching.identifier}  by identity ${o.matching.identity}  queued ${o.matching.queued}` : ''
  const counts = o.status === 'skipped' ? '' : `  accepted ${o.accepted}  rejected ${o.rejected}${superseded}${warned}${skippedRecords}${matching}`
  const reason = o.reason ? `\n         reason: ${o.reason}` : ''
  // Warnings by field and rule (values declared `invalid: warn`, stored empty): never a value.
  const warnings = o.warnings && Object.keys(o.warnings).length > 0 ? `\n         warnings: ${Object.entries(o.warnings).map(([k, n]) => `${k} ×${n}`).join(', ')}` : ''
  // Records left out as not for this département (values declared `invalid: skip`), by field and rule.
  const skips = o.skips && Object.keys(o.skips).length > 0 ? `\n         left out: ${Object.entries(o.skips).map(([k, n]) => `${k} ×${n}`).join(', ')}` : ''
  return `${head}${counts}  (${(o.durationMs / 1000).toFixed(1)} s)${reason}${warnings}${skips}`
}
