import type { Command } from 'commander'
import { DeclarationProblem } from '../../statistics/declaration.ts'
import { ExtractKeyError } from '../../statistics/extract-keys.ts'
import { ExtractRefusedError, runExtract } from '../../statistics/run-extract.ts'
import { cliDeclarations, defaultCliActor, openContext } from '../context.ts'

/**
 * `passerelle extract`: one statistical extract for one recipient — pseudonymised, k-anonymous microdata, or an
 * aggregate table with cell suppression — written as CSV + manifest into --out, recorded, audited, and pushed to
 * the recipient's SFTP server when the purpose declares one. Prints the manifest summary (no personal value).
 */
export function register(program: Command): void {
  program
    .command('extract')
    .description('write a pseudonymised, k-anonymous extract (or a protected aggregate table) for a recipient')
    .requiredOption('--purpose <id>', 'a statistical purpose (mappings/<id>.yaml with a statistics section)')
    .requiredOption('--recipient <id>', 'one of the purpose’s statistics.recipients')
    .requiredOption('--out <dir>', 'folder for the CSV and its manifest (never the keys folder)')
    .option('--as-of <date>', 'reference date YYYY-MM-DD (default: today, Europe/Paris)')
    .option('--aggregate <name>', 'an aggregate table of the purpose instead of microdata')
    .option('--no-push', 'do not push to the recipient’s SFTP server')
    .option('--bom', 'start the CSV files with a UTF-8 byte order mark, for Excel (default: the declaration’s csv_bom)')
    .option('--json', 'print the whole manifest as JSON')
    .action(async (opts: { purpose: string; recipient: string; out: string; asOf?: string; aggregate?: string; push: boolean; bom?: boolean; json?: boolean }) => {
      const { purposes } = cliDeclarations()
      const ctx = await openContext()
      try {
        const purpose = purposes.get(opts.purpose)
        if (!purpose) {
          process.stderr.write(`passerelle extract: unknown purpose "${opts.purpose}" (known: ${[...purposes.keys()].sort().join(', ')})\n`)
          process.exitCode = 1
          return
        }
        const result = await runExtract(
          // The recipient's SFTP variables and extract keys are named by its declaration (PASSERELLE_EXTRACT_KEY_<R>_V<N>):
          // the entry point hands its environment to the extract, which reads only those names.
          { db: ctx.db, log: ctx.log, sftp: ctx.config.sftp, env: process.env },
          { purpose, recipientId: opts.recipient, asOf: opts.asOf, outDir: opts.out, aggregate: opts.aggregate, push: opts.push, ...(opts.bom ? { bom: true } : {}), actor: defaultCliActor() },
        )
        if (opts.json) {
          process.stdout.write(`${JSON.stringify(result.manifest, null, 2)}\n`)
          return
        }
        const m = result.manifest
        const lines = [`extract ${m.id} (${m.kind}) for ${m.recipient.id}, as of ${m.asOf}`, `  data:     ${result.dataPath}`, `  codebook: ${result.codebookPath}`, `  manifest: ${result.manifestPath}`, `  rows:     ${m.file.rows}`, `  sha256:   ${m.file.sha256}`]
        if (m.kind === 'microdata') {
          const d = m.disclosure
          lines.push(
            `  k:        ${d.k} required, ${d.kReached ?? '-'} reached`,
            `  suppressed ${d.suppressed} of ${d.population} persons (${(d.suppressionRate * 100).toFixed(2)} %, at most ${(d.maxSuppressionRate * 100).toFixed(2)} %)`,
            `  levels:   ${Object.entries(d.generalisation).map(([c, l]) => `${c}=${l}`).join(', ')}`,
            `  key:      version ${m.pseudonyms.keyVersion}`,
          )
        } else {
          lines.push(`  table:    ${m.table.name}, ${m.table.cells} cells, ${m.table.suppressedCells} suppressed (threshold ${m.table.threshold})`)
        }
        if (result.pushedTo) lines.push(`  pushed:   ${result.pushedTo.join(', ')}`)
        process.stdout.write(`${lines.join('\n')}\n`)
      } catch (error) {
        if (error instanceof ExtractRefusedError || error instanceof ExtractKeyError || error instanceof DeclarationProblem) {
          process.stderr.write(`passerelle extract: ${error.message}\n`)
          process.exitCode = 1
          return
        }
        throw error
      } finally {
        await ctx.close()
      }
    })
}
