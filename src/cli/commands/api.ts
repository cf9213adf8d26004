import type { Command } from 'commander'
import { runFranceTravailApiFlow } from '../../exchange/france-travail-api/api-jobs.ts'
import { runJob } from '../../jobs/run-job.ts'
import { cliDeclarations, openContext } from '../context.ts'
import { printJson } from '../format/print-json.ts'

/** `passerelle api run [flow]`: one run of a partner-API flow now, recorded and locked like the scheduled one. */
export function register(program: Command): void {
  const api = program.command('api').description('France Travail partner-API flows (source.type francetravail-api)')
  api
    .command('run')
    .description('look up, read orientations and deliver the outbox now (the job api:<flow>, exclusive across instances)')
    .argument('[flow]', 'API flow id (default: every API flow)')
    .option('--json', 'print the job results as JSON')
    .action(async (flowId: string | undefined, options: { json?: boolean }) => {
      const declarations = cliDeclarations()
      const flows = declarations.apiFlows
      const ctx = await openContext()
      try {
        const selected = flowId ? [flows.get(flowId)] : [...flows.values()]
        if (selected.some((f) => f === undefined)) throw new Error(`unknown API flow "${flowId}" (known: ${[...flows.keys()].join(', ') || 'none'})`)
        const results = []
        for (const flow of selected) {
          const f = flow!
          results.push(await runJob({ db: ctx.db, log: ctx.log }, `api:${f.id}`, () => runFranceTravailApiFlow({ db: ctx.db, keys: ctx.keys, log: ctx.log, env: process.env, stored: declarations.stored }, f)))
        }
        if (options.json) printJson(results)
        else for (const r of results) process.stdout.write(`${r.outcome.padEnd(9)} ${r.job}  ${JSON.stringify(r.counts)}${r.error ? `  ${r.error}` : ''}\n`)
        if (results.some((r) => r.outcome === 'failed')) process.exitCode = 1
      } finally {
        await ctx.close()
      }
    })
}
