import type { Command } from 'commander'
import { defaultCliActor, openContext } from '../context.ts'
import { parisTime } from '../format/paris-time.ts'
import { addLegalHold, listLegalHolds, releaseLegalHold, type LegalHold } from '../../retention/legal-holds.ts'

const defaultActor = defaultCliActor

/** `passerelle hold add|release|list`: legal holds that keep a dossier from being destroyed. */
export function register(program: Command): void {
  const hold = program.command('hold').description('legal holds: held data may be archived but is never destroyed while the hold stands')

  hold
    .command('add')
    .description('put a dossier (its members, persons and France Travail registrations) under legal hold')
    .requiredOption('--dossier <NUMDEMRSA>', 'the dossier number (NUMDEMRSA)')
    .requiredOption('--reason <text>', 'why: the litigation, claim or investigation')
    .option('--reference <ref>', 'case reference (court, claim number)')
    .option('--organisme <CAF|MSA>', 'when the number exists at both organismes')
    .option('--actor <name>', 'who asks (default: the system user)')
    .action(async (opts: { dossier: string; reason: string; reference?: string; organisme?: string; actor?: string }) => {
      const ctx = await openContext()
      try {
        const created = await addLegalHold(ctx.db, ctx.keys, {
          numdemrsa: opts.dossier,
          reason: opts.reason,
          now: new Date(),
          actor: opts.actor ?? defaultActor(),
          ...(opts.reference !== undefined ? { reference: opts.reference } : {}),
          ...(opts.organisme !== undefined ? { organisme: opts.organisme } : {}),
        })
        process.stdout.write(`legal hold #${created.id} added (${created.organisme}, subject ${created.dossierSubject})\n`)
      } finally {
        await ctx.close()
      }
    })

  hold
    .command('release')
    .description('release a legal hold: the next retention run destroys what is due')
    .argument('<id>', 'the hold number', (v) => Number.parseInt(v, 10))
    .option('--reason <text>', 'why the hold ends')
    .option('--actor <name>', 'who releases (default: the system user)')
    .action(async (id: number, opts: { reason?: string; actor?: string }) => {
      if (!Number.isInteger(id) || id < 1) throw new Error('hold release: give the hold number (see passerelle hold list)')
      const ctx = await openContext()
      try {
        const released = await releaseLegalHold(ctx.db, { id, actor: opts.actor ?? defaultActor(), now: new Date(), ...(opts.reason !== undefined ? { reason: opts.reason } : {}) })
        process.stdout.write(`legal hold #${released.id} released\n`)
      } finally {
        await ctx.close()
      }
    })

  hold
    .command('list')
    .description('list standing legal holds')
    .option('--all', 'include released holds')
    .option('--dossier <NUMDEMRSA>', 'only the holds on this dossier')
    .option('--json', 'print JSON')
    .action(async (opts: { all?: boolean; dossier?: string; json?: boolean }) => {
      const ctx = await openContext()
      try {
        const holds = await listLegalHolds(ctx.db, { all: opts.all ?? false, ...(opts.dossier !== undefined ? { numdemrsa: opts.dossier } : {}) })
        // The dossier number is not listed (the reference and the pseudonym identify a hold); --dossier checks one.
        const shown = holds.map(({ numdemrsa: _n, ...h }) => h)
        process.stdout.write(opts.json ? `${JSON.stringify(shown, null, 2)}\n` : formatHolds(holds))
      } finally {
        await ctx.close()
      }
    })
}

function formatHolds(holds: LegalHold[]): string {
  if (holds.length === 0) return 'no legal hold\n'
  return (
    holds
      .map(
        (h) =>
          `#${h.id} ${h.organisme} ${h.dossierSubject} since ${parisTime(h.createdAt)} by ${h.createdBy}` +
          `${h.reference ? ` ref ${h.reference}` : ''}${h.releasedAt ? ` released ${parisTime(h.releasedAt)} by ${h.releasedBy}` : ' STANDING'}\n  reason: ${h.reason}`,
      )
      .join('\n') + '\n'
  )
}
