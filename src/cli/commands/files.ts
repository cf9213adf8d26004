import type { Command } from 'commander'
import { listQuarantine, releaseQuarantinedFile } from '../../ingestion/quarantine/queries.ts'
import { openContext } from '../context.ts'
import { parisTime } from '../format/paris-time.ts'

/**
 * `passerelle files quarantined` lists the remote files the pull no longer fetches (reading them did not finish
 * twice: src/ingestion/quarantine/); `passerelle files retry <id>` releases one, so that the next pull fetches it
 * again (after the cause is fixed: the flow's limits raised, memory added, the producer asked for a new file).
 */
export function register(program: Command): void {
  const files = program.command('files').description('remote files the pull set aside (quarantine)')

  files
    .command('quarantined')
    .description('list quarantined remote files (not fetched until released)')
    .option('--all', 'also files being watched (one unfinished attempt) and released ones')
    .option('--json', 'print JSON')
    .action(async (options: { all?: boolean; json?: boolean }) => {
      const ctx = await openContext()
      try {
        const rows = await listQuarantine(ctx.db, { all: options.all })
        if (options.json) {
          process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`)
          return
        }
        if (rows.length === 0) process.stdout.write('No quarantined file.\n')
        for (const r of rows) {
          process.stdout.write(
            `  #${r.id}  ${r.status.padEnd(11)} ${r.flowId}  ${r.name}  ${r.size} bytes  modified ${parisTime(r.modifiedAt)}  ` +
              `unfinished attempts ${r.unfinishedAttempts}${r.lastError ? `  last error ${r.lastError}` : ''}` +
              `${r.quarantinedAt ? `  since ${parisTime(r.quarantinedAt)}` : ''}\n`,
          )
        }
      } finally {
        await ctx.close()
      }
    })

  files
    .command('retry')
    .description('release a quarantined file: the next pull fetches and reads it again')
    .argument('<id>', 'the quarantine entry id (from `files quarantined` or the log line)')
    .action(async (id: string) => {
      if (!/^[1-9][0-9]{0,17}$/.test(id)) throw new Error(`"${id}" is not a quarantine entry id (a positive integer)`)
      const ctx = await openContext()
      try {
        const released = await releaseQuarantinedFile(ctx.db, Number(id))
        if (!released) throw new Error(`no quarantined file with id ${id} (see passerelle files quarantined --all)`)
        ctx.log.info({ quarantineId: released.id, flowId: released.flowId, file: released.name }, 'quarantined file released')
        process.stdout.write(`Released #${released.id} (${released.flowId} ${released.name}): the next pull fetches it again.\n`)
      } finally {
        await ctx.close()
      }
    })
}
