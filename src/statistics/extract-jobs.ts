import type { JobCounts } from '../jobs/run-job.ts'
import type { Purpose } from '../purposes/purpose.ts'
import type { ScheduledJob } from '../scheduler/start-scheduler.ts'
import { extractTargets, runExtract, type ExtractDeps } from './run-extract.ts'

/**
 * The monthly extracts as scheduler jobs: one per statistical purpose and recipient (`extract:statistiques:drees`),
 * each writing into `outDir`, recording, auditing and pushing like `passerelle extract`. A refused extract (too
 * much suppression) or a failed push fails the run, which job_runs records.
 */
export function extractJobs(
  deps: ExtractDeps,
  purposes: ReadonlyMap<string, Purpose>,
  options: { outDir: string; schedule?: string },
): ScheduledJob[] {
  return extractTargets(purposes).map(({ purpose, recipientId, job }) => ({
    name: job,
    // 05:00 on the 1st of each month, Europe/Paris: after the nightly imports.
    schedule: options.schedule ?? '0 5 1 * *',
    async run(): Promise<JobCounts> {
      const { manifest } = await runExtract(deps, { purpose, recipientId, outDir: options.outDir, actor: 'scheduler' })
      return manifest.kind === 'microdata'
        ? { rows: manifest.file.rows, population: manifest.disclosure.population, suppressed: manifest.disclosure.suppressed }
        : { rows: manifest.file.rows }
    },
  }))
}
