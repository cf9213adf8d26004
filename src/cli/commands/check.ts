import type { Command } from 'commander'
import { cliConfig, sayWaiting } from '../context.ts'
import { printJson } from '../format/print-json.ts'
import { migrate } from '../../db/migrate.ts'
import { openDatabase } from '../../db/open-database.ts'
import { checkConfiguration } from '../../declarations/check-configuration.ts'

export function register(program: Command): void {
  program
    .command('check')
    .description('check the flow, retention and purpose declarations (and, with --database, the schema and stored data)')
    .option('--flows <dir>', 'flows directory (default: PASSERELLE_FLOWS_DIR or ./flows)')
    .option('--mappings <dir>', 'purposes directory (default: PASSERELLE_MAPPINGS_DIR or ./mappings)')
    .option('--database', 'also compare the database schema and its stored values with the declarations')
    .option('--json', 'print { ok, problems, counts, neverStored, databaseChecked } (exit 1 when ok is false, as in text)')
    .action(async (options: { flows?: string; mappings?: string; database?: boolean; json?: boolean }) => {
      // --flows and --mappings override PASSERELLE_FLOWS_DIR and PASSERELLE_MAPPINGS_DIR (applied by the entry point).
      const config = cliConfig()
      const { flowsDir, mappingsDir } = config
      const db = options.database ? await openDatabase(config, { onWait: sayWaiting }) : undefined
      try {
        if (db) await migrate(db)
        const result = await checkConfiguration({ flowsDir, mappingsDir, ...(db ? { db } : {}) })
        if (options.json) {
          const { problems, counts, neverStored, databaseChecked } = result
          printJson({ ok: problems.length === 0, problems, counts, neverStored, databaseChecked })
          if (problems.length > 0) process.exitCode = 1
          return
        }
        if (result.problems.length > 0) {
          process.stderr.write(`${result.problems.length} problem(s):\n${result.problems.map((p) => `  ${p}`).join('\n')}\n`)
          process.exitCode = 1
          return
        }
        const c = result.counts
        const lines = [
          `OK: ${c.purposes} purposes, ${c.flows} flows, ${c.retentionPolicies} retention policies`,
          `stored: ${c.storedFields} of ${c.catalogueFields} canonical fields (${c.keyFields} keys + the fields purposes declare)`,
          `never stored (no purpose declares them): ${result.neverStored.join(', ') || 'none'}`,
          result.databaseChecked
            ? 'database: schema and stored values match the declarations'
            : 'database: not checked (add --database to compare the schema and the stored values)',
        ]
        process.stdout.write(`${lines.join('\n')}\n`)
      } finally {
        await db?.close()
      }
    })
}
