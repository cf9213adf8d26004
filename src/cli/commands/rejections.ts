import type { Command } from 'commander'
import { listRejectedDossiers } from '../../ingestion/rejected-dossiers.ts'
import { openContext } from '../context.ts'

/**
 * `passerelle rejections dossiers --file <id>`: the dossiers a CAF or MSA file rejected, with the rules they broke
 * and their NUMDEMRSA (the organisme's case number; never a name, NIR or other value), to ask the organisme for a
 * corrected file holding just those dossiers. A daily-type file (TYPEFLUX=I) with one dossier is then loaded with
 * `passerelle ingest --flow <flow> --file <path>`: it applies that dossier and leaves the rest of the stock as is.
 */
export function register(program: Command): void {
  const rejections = program.command('rejections').description('records the files rejected, to have them corrected')

  rejections
    .command('dossiers')
    .description('list the dossiers a CAF/MSA file rejected (NUMDEMRSA and rules, never a value)')
    .requiredOption('--file <id>', 'the file id (from `passerelle ingest` or `passerelle runs`)')
    .option('--json', 'print one JSON object { file, dossiers: [...] }')
    .action(async (options: { file: string; json?: boolean }) => {
      if (!/^[1-9][0-9]{0,17}$/.test(options.file)) throw new Error(`"${options.file}" is not a file id (a positive integer)`)
      const ctx = await openContext()
      try {
        const listed = await listRejectedDossiers(ctx.db, Number(options.file))
        if (!listed) throw new Error(`no file with id ${options.file} (see passerelle runs)`)
        if (options.json) {
          const dossiers = listed.dossiers.map((d) => ({ ...d, numdemrsa: d.numdemrsa ?? null }))
          process.stdout.write(`${JSON.stringify({ file: listed.file, dossiers }, null, 2)}\n`)
          return
        }
        const { file, dossiers } = listed
        process.stdout.write(`File #${file.id} ${file.flowId} ${file.name} (${file.status}): ${dossiers.length} rejected record(s)\n`)
        for (const d of dossiers) {
          const rules = d.rules.map((r) => `${r.field} ${r.rule}`).join(', ')
          process.stdout.write(`  record ${d.recordIndex}${d.line ? ` line ${d.line}` : ''}  NUMDEMRSA ${d.numdemrsa ?? '(unreadable)'}  ${rules}\n`)
        }
        if (dossiers.length > 0) {
          process.stdout.write(
            'Ask the organisme for a daily-type file (TYPEFLUX=I) holding the corrected dossiers, then load it with\n' +
              `  passerelle ingest --flow ${file.flowId} --file <path>\n`,
          )
        }
      } finally {
        await ctx.close()
      }
    })
}
