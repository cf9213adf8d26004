import type { Command } from 'commander'
import { countPending, listQueue, type QueueState } from '../../matching/queue-queries.ts'
import { discardQueued, linkQueued } from '../../matching/resolve-queued.ts'
import { cliDeclarations, defaultCliActor, openContext } from '../context.ts'
import { parisTime } from '../format/paris-time.ts'
import { printJson } from '../format/print-json.ts'
import { wholeNumber } from '../option-parsers.ts'

/**
 * `passerelle matching list|link|discard`: the France Travail records that matched nobody or several persons
 * (src/matching/). The listing gives ids, reasons and the candidates' public ids, never the identity: an operator
 * reads it through the DPO/admin API (GET /v1/matching-queue), where it is decrypted for them.
 */
export function register(program: Command): void {
  const matching = program.command('matching').description('the matching queue of France Travail records without a NIR that matched nobody, or several persons')
  matching
    .command('list')
    .description('list queued records, the longest waiting first (ids, reasons, candidates; never an identity)')
    .option('--state <state>', 'pending (default), linked or discarded')
    .option('--flow <id>', 'only this flow')
    .option('--limit <n>', 'how many (1 to 10000)', wholeNumber(1, 10_000), 100)
    .option('--json', 'print { pending, records } as JSON')
    .action(async (options: { state?: string; flow?: string; limit: number; json?: boolean }) => {
      if (options.state !== undefined && !['pending', 'linked', 'discarded'].includes(options.state)) {
        throw new Error(`--state must be pending, linked or discarded (got "${options.state}")`)
      }
      const limit = options.limit
      const ctx = await openContext()
      try {
        const records = await listQueue(ctx.db, { state: options.state as QueueState | undefined, flowId: options.flow, limit })
        const pending = await countPending(ctx.db)
        const shown = records.map(({ identitySealed: _sealed, ...r }) => r)
        if (options.json) {
          printJson({ pending, records: shown })
          return
        }
        process.stdout.write(`${pending} record(s) pending\n`)
        if (shown.length === 0) process.stdout.write('(no record)\n')
        for (const r of shown) {
          const resolved = r.state === 'pending' ? '' : `  ${r.state} by ${r.resolvedBy ?? '-'}${r.personPublicId ? ` to ${r.personPublicId}` : ''}`
          process.stdout.write(
            `  #${r.id}  ${parisTime(r.transmittedAt)}  ${r.flowId}  file ${r.fileId} record ${r.recordIndex}  ${r.reason}` +
              `  candidates ${r.candidates.length > 0 ? r.candidates.join(' ') : '-'}${r.hasIdentifier ? '' : '  (no France Travail identifier)'}${resolved}\n`,
          )
        }
      } finally {
        await ctx.close()
      }
    })
  matching
    .command('link')
    .description('link a queued record to a person: its registration is applied now, and later files match by its France Travail identifier')
    .argument('<id>', 'queued record id')
    .requiredOption('--person <public id>', "the person's public id (a candidate, or any person of the active base)")
    .option('--actor <name>', 'who decides (default: the system user)')
    .option('--json', 'print the outcome as JSON')
    .action(async (id: string, options: { person: string; actor?: string; json?: boolean }) => {
      const ctx = await openContext()
      try {
        const outcome = await linkQueued(ctx.db, { keys: ctx.keys, purposes: cliDeclarations().purposes }, { id: queueId(id), personPublicId: options.person, actor: options.actor ?? defaultCliActor(), now: new Date(), via: 'cli' })
        if (options.json) printJson(outcome)
        else {
          process.stdout.write(
            `#${outcome.id} linked to ${outcome.personPublicId}: registration ${outcome.registrationApplied ? 'applied' : 'not applied (a more recent state is stored)'}, ` +
              `France Travail identifier ${outcome.identifierLinked ? 'linked' : 'not linked (none, or already linked)'}\n`,
          )
        }
      } finally {
        await ctx.close()
      }
    })
  matching
    .command('discard')
    .description('discard a queued record (it names none of our persons); a later file naming it queues it again')
    .argument('<id>', 'queued record id')
    .option('--actor <name>', 'who decides (default: the system user)')
    .option('--json', 'print the outcome as JSON')
    .action(async (id: string, options: { actor?: string; json?: boolean }) => {
      const ctx = await openContext()
      try {
        const outcome = await discardQueued(ctx.db, { id: queueId(id), actor: options.actor ?? defaultCliActor(), now: new Date(), via: 'cli' })
        if (options.json) printJson(outcome)
        else process.stdout.write(`#${outcome.id} discarded\n`)
      } finally {
        await ctx.close()
      }
    })
}

function queueId(id: string): number {
  if (!/^\d{1,15}$/.test(id)) throw new Error(`not a queued record id: "${id}"`)
  return Number(id)
}
