import type { Command } from 'commander'
import { cliDeclarations, openContext } from '../context.ts'
import { withAdvisoryLock } from '../../db/advisory-lock.ts'
import { isCalendarDate } from '../../retention/duration.ts'
import { DEFAULT_PAUSE_RATIO } from '../../retention/run-context.ts'
import { DEFAULT_CHUNK_SIZE, RETENTION_LOCK, runRetention, type RetentionReport } from '../../retention/run-retention.ts'

/** `passerelle retention [--dry-run] [--as-of YYYY-MM-DD] [--json]`: plans, then applies, the retention policies. */
export function register(program: Command): void {
  program
    .command('retention')
    .description('archive and destroy what the retention policies (flows/retention/*.yaml) say is due; --dry-run only reports')
    .option('--dry-run', 'change nothing: print what would be archived and destroyed, per policy')
    .option('--as-of <day>', 'plan as of this civil day (YYYY-MM-DD), to forecast; only with --dry-run')
    .option('--json', 'print the report as JSON')
    .option('--chunk-size <rows>', 'rows per transaction when archiving (destroying takes a tenth)', (v) => Number.parseInt(v, 10), DEFAULT_CHUNK_SIZE)
    .option('--pause-ms <ms>', 'smallest pause between chunks', (v) => Number.parseInt(v, 10), 0)
    .option('--pause-ratio <r>', 'pause after each chunk, as a share of the time it took (leaves room to the API; 0: none)', Number, DEFAULT_PAUSE_RATIO)
    .action(async (opts: { dryRun?: boolean; asOf?: string; json?: boolean; chunkSize: number; pauseMs: number; pauseRatio: number }) => {
      if (opts.asOf !== undefined && !isCalendarDate(opts.asOf)) throw new Error(`--as-of: "${opts.asOf}" is not a date (YYYY-MM-DD)`)
      if (opts.asOf !== undefined && !opts.dryRun) {
        throw new Error('--as-of forecasts only: add --dry-run (applying retention as of another day would destroy too early or too late)')
      }
      if (!Number.isInteger(opts.chunkSize) || opts.chunkSize < 1) throw new Error('--chunk-size must be a positive integer')
      if (!Number.isInteger(opts.pauseMs) || opts.pauseMs < 0) throw new Error('--pause-ms must be a whole number of milliseconds')
      if (!Number.isFinite(opts.pauseRatio) || opts.pauseRatio < 0 || opts.pauseRatio > 10) throw new Error('--pause-ratio must be a number from 0 to 10')
      // Noon UTC is the same civil day in Europe/Paris, whatever the season.
      const now = opts.asOf ? new Date(`${opts.asOf}T12:00:00Z`) : new Date()
      const declarations = cliDeclarations()
      const ctx = await openContext()
      try {
        const deps = { db: ctx.db, keys: ctx.keys, log: ctx.log, declarations, stagingDir: ctx.config.stagingDir, extractsDir: ctx.config.extractsDir }
        // Under the lock, the run stops before its next chunk if the lock is lost (reported as errors, exit 1).
        const run = (signal?: AbortSignal) => runRetention(deps, { now, dryRun: opts.dryRun ?? false, chunkSize: opts.chunkSize, pauseMs: opts.pauseMs, pauseRatio: opts.pauseRatio, signal })
        let report: RetentionReport
        if (opts.dryRun) report = await run()
        else {
          const locked = await withAdvisoryLock(ctx.db, RETENTION_LOCK, run)
          if (!locked.acquired) {
            process.stderr.write('another retention run is under way (advisory lock held): nothing done\n')
            process.exitCode = 75
            return
          }
          report = locked.value
        }
        process.stdout.write(opts.json ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report))
        if (!report.ok) process.exitCode = 1
      } finally {
        await ctx.close()
      }
    })
}

const counts = (c: Record<string, number>) =>
  Object.entries(c)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ') || 'nothing'

/** Human-readable report: counts and cutoff days only, never a personal value. */
export function formatReport(report: RetentionReport): string {
  const lines = [`retention for ${report.today}${report.dryRun ? ' (dry run: nothing changed)' : ''}, run ${report.runId}`]
  for (const p of report.policies) {
    lines.push('', `${p.id} (${p.appliesTo})${p.flows.length ? `, flows: ${p.flows.join(', ')}` : ''}`)
    lines.push(`  source: ${p.sources.join('; ')}`)
    if (p.appliesTo === 'flow-data') {
      lines.push(`  active ${p.active.duration} from ${p.active.anchor}: data anchored on or before ${p.active.anchorCutoff} leaves the active base`)
      if (p.archive) lines.push(`  archive ${p.archive.duration} from ${p.archive.anchor}, destroyed ${p.destroyAfter} after: archive clocks started on or before ${p.destroyAnchorCutoff} are destroyed`)
      lines.push(`  ${report.dryRun ? 'would archive' : 'archived'}: ${counts(p.archived)}`)
      lines.push(`  ${report.dryRun ? 'would destroy' : 'destroyed'}: ${counts(p.destroyed)}${p.alsoDestroyedOnArchiving ? ` (+${p.alsoDestroyedOnArchiving} due as soon as archived)` : ''}`)
      if (p.heldBack > 0) lines.push(`  held back by legal holds: ${p.heldBack}`)
    } else {
      lines.push(`  kept ${p.active.duration} from ${p.active.anchor}: anchored on or before ${p.destroyAnchorCutoff} is destroyed`)
      lines.push(`  ${report.dryRun ? 'would destroy' : 'destroyed'}: ${counts(p.destroyed)}`)
    }
    if (p.note) lines.push(`  note: ${p.note}`)
  }
  lines.push('', `minimisation ${report.dryRun ? '(would clear)' : '(cleared)'}: ${counts(report.minimisation.cleared)}${report.minimisation.skipped ? ` (${report.minimisation.skipped})` : ''}`)
  if (report.ungoverned.dossiers + report.ungoverned.registrations > 0) {
    lines.push(`WARNING: ${report.ungoverned.dossiers} dossiers and ${report.ungoverned.registrations} registrations belong to undeclared flows (${report.ungoverned.flowIds.join(', ')}): no policy governs them`)
  }
  for (const e of report.errors) lines.push(`ERROR in ${e.step}: ${e.message}`)
  return `${lines.join('\n')}\n`
}
