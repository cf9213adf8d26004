import type { Command } from 'commander'
import { listOutbox, outboxDepth } from '../../outbox/queries.ts'
import { replayDeadMessages } from '../../outbox/replay-dead.ts'
import { wholeNumber } from '../option-parsers.ts'
import { defaultCliActor, openContext } from '../context.ts'
import { parisTime } from '../format/paris-time.ts'
import { printJson } from '../format/print-json.ts'

/** `passerelle outbox list|retry`: messages waiting for France Travail, and the replay of dead-lettered ones. */
export function register(program: Command): void {
  const outbox = program.command('outbox').description('the outbox of decisions sent to partners (France Travail orientations)')
  outbox
    .command('list')
    .description('list outbox messages, newest first (codes and ids only, never a personal value)')
    .option('--state <state>', 'pending, delivered, dead or withdrawn')
    .option('--limit <n>', 'how many (1 to 1000)', wholeNumber(1, 1000), 50)
    .option('--json', 'print { depth, messages } as JSON')
    .action(async (options: { state?: string; limit: number; json?: boolean }) => {
      if (options.state !== undefined && !['pending', 'delivered', 'dead', 'withdrawn'].includes(options.state)) {
        throw new Error(`--state must be pending, delivered, dead or withdrawn (got "${options.state}")`)
      }
      const limit = options.limit
      const ctx = await openContext()
      try {
        const messages = await listOutbox(ctx.db, { state: options.state as 'pending' | 'delivered' | 'dead' | 'withdrawn' | undefined, limit })
        const depth = await outboxDepth(ctx.db)
        if (options.json) {
          printJson({ depth, messages })
          return
        }
        for (const d of depth) process.stdout.write(`${d.topic}: ${d.pending} pending (oldest ${Math.round(d.oldestPendingSeconds)} s), ${d.dead} dead\n`)
        if (messages.length === 0) process.stdout.write('(no message)\n')
        for (const m of messages) {
          process.stdout.write(
            `  #${m.id}  ${parisTime(m.createdAt)}  ${m.state.padEnd(9)} ${m.topic}  person ${m.personPublicId ?? '-'}  attempts ${m.attempts}${m.lastError ? `  last error: ${m.lastError}` : ''}\n`,
          )
        }
      } finally {
        await ctx.close()
      }
    })
  outbox
    .command('retry')
    .description('replay dead-lettered messages (the ids given, or every dead one with --all)')
    .argument('[ids...]', 'message ids')
    .option('--all', 'every dead message')
    .option('--actor <name>', 'who replays (default: the system user)')
    .option('--json', 'print { replayed }')
    .action(async (ids: string[], options: { all?: boolean; actor?: string; json?: boolean }) => {
      if (ids.length === 0 && !options.all) throw new Error('give message ids, or --all to replay every dead message')
      const parsed = ids.map((id) => {
        if (!/^\d+$/.test(id)) throw new Error(`not a message id: "${id}"`)
        return Number(id)
      })
      const ctx = await openContext()
      try {
        const replayed = await replayDeadMessages(ctx.db, { ids: parsed, actor: options.actor ?? defaultCliActor(), now: new Date() })
        if (options.json) printJson({ replayed })
        else process.stdout.write(`${replayed} dead message(s) pending again; the next run of the API job delivers them\n`)
      } finally {
        await ctx.close()
      }
    })
}
