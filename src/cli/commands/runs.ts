import type { Command } from 'commander'
import { listJobRuns, listRecentFiles } from '../../jobs/queries.ts'
import { openContext } from '../context.ts'
import { parisTime } from '../format/paris-time.ts'
import { wholeNumber } from '../option-parsers.ts'

export function register(program: Command): void {
  program
    .command('runs')
    .description('list recent file imports and job runs')
    .option('--limit <n>', 'how many of each (1 to 1000)', wholeNumber(1, 1000), 20)
    .option('--json', 'print JSON')
    .action(async (options: { limit: number; json?: boolean }) => {
      const limit = options.limit
      const ctx = await openContext()
      try {
        const files = { rows: await listRecentFiles(ctx.db, limit) }
        const jobs = { rows: await listJobRuns(ctx.db, limit) }
        if (options.json) {
          process.stdout.write(JSON.stringify({ files: files.rows, jobs: jobs.rows }, null, 2) + '\n')
          return
        }
        process.stdout.write('Files\n')
        if (files.rows.length === 0) process.stdout.write('  (none)\n')
        for (const f of files.rows) {
          process.stdout.write(
            `  #${f.id}  ${parisTime(f.finished_at)}  ${f.status.padEnd(8)} ${f.flow_id}  ${f.name}  ${f.kind ?? ''}  accepted ${f.records_accepted}  rejected ${f.records_rejected}${f.reason ? `\n        ${f.reason}` : ''}\n`,
          )
        }
        process.stdout.write('Jobs\n')
        if (jobs.rows.length === 0) process.stdout.write('  (none)\n')
        for (const j of jobs.rows) {
          process.stdout.write(
            `  #${j.id}  ${parisTime(j.started_at)}  ${(j.outcome ?? '').padEnd(9)} ${j.job}  ${JSON.stringify(j.counts)}${j.error ? `  error: ${j.error}` : ''}\n`,
          )
        }
      } finally {
        await ctx.close()
      }
    })
}
