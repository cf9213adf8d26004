import type { Command } from 'commander'
import { defaultCliActor, openContext } from '../context.ts'
import { parisTime } from '../format/paris-time.ts'
import { showArchivedDossier, type ArchivedDossier } from '../../retention/read-archive.ts'

/**
 * `passerelle archive show --dossier NUMDEMRSA --reason "..."`: the break-glass read of the archive. It is the one
 * CLI path that prints personal data, on explicit request, with a reason written to the audit log first.
 */
export function register(program: Command): void {
  const archive = program.command('archive').description('the intermediate archive (read only through an audited break-glass command)')
  archive
    .command('show')
    .description('print an archived dossier: PERSONAL DATA, audited with your reason')
    .requiredOption('--dossier <NUMDEMRSA>', 'the dossier number (NUMDEMRSA)')
    .requiredOption('--reason <text>', 'why you need it (litigation, claim, data-subject request): written to the audit log')
    .option('--organisme <CAF|MSA>', 'when the number exists at both organismes')
    .option('--actor <name>', 'who reads (default: the system user)')
    .option('--json', 'print JSON')
    .action(async (opts: { dossier: string; reason: string; organisme?: string; actor?: string; json?: boolean }) => {
      const ctx = await openContext()
      try {
        const dossier = await showArchivedDossier(ctx.db, ctx.keys, {
          numdemrsa: opts.dossier,
          reason: opts.reason,
          actor: opts.actor ?? defaultCliActor(),
          now: new Date(),
          ...(opts.organisme !== undefined ? { organisme: opts.organisme } : {}),
        })
        process.stdout.write(opts.json ? `${JSON.stringify(dossier, null, 2)}\n` : formatDossier(dossier))
      } finally {
        await ctx.close()
      }
    })
}

function formatDossier(d: ArchivedDossier): string {
  const block = (fields: Record<string, unknown>, indent: string) =>
    Object.entries(fields)
      .map(([k, v]) => `${indent}${k}: ${String(v)}`)
      .join('\n')
  const lines = [`archived dossier (${d.organisme}, policy ${d.policyId}, archived ${parisTime(d.archivedAt)}) — this read is audited`, block(d.fields, '  ')]
  d.members.forEach((m, i) => lines.push(`  member ${i + 1}:`, block(m.fields, '    ')))
  d.franceTravail.forEach((r, i) => lines.push(`  France Travail registration ${i + 1}:`, block(r.fields, '    ')))
  return `${lines.join('\n')}\n`
}
