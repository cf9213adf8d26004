import type { Command } from 'commander'
import { cliConfig, sayWaiting } from '../context.ts'
import { migrate } from '../../db/migrate.ts'
import { openDatabase } from '../../db/open-database.ts'

export function register(program: Command): void {
  program
    .command('migrate')
    .description('apply pending database migrations (also done at every start)')
    .action(async () => {
      const config = cliConfig()
      const db = await openDatabase(config, { onWait: sayWaiting })
      try {
        const { applied } = await migrate(db)
        process.stdout.write(applied.length ? `applied: ${applied.join(', ')}\n` : 'database is up to date\n')
      } finally {
        await db.close()
      }
    })
}
