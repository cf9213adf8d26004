import type { Command } from 'commander'
import { findPersonByPublicId } from '../../access/person-by-public-id.ts'
import { auditSubject } from '../../audit/subject-pseudonym.ts'
import { describeUnattested, verifyAuditLog } from '../../audit/verify-log.ts'
import { searchAuditEvents } from '../../http/audit-search.ts'
import { openContext } from '../context.ts'
import { parisTime } from '../format/paris-time.ts'
import { printJson } from '../format/print-json.ts'

/**
 * `passerelle audit verify` recomputes the hash chain of the audit log, compares it with the signed checkpoints
 * kept outside the database, and names what differs (exit 1);
 * `passerelle audit search` reads the log, newest first (persons appear as keyed pseudonyms only).
 */
export function register(program: Command): void {
  const audit = program.command('audit').description('the tamper-evident access log')

  audit
    .command('verify')
    .description(
      'recompute the hash chain and compare it with the signed checkpoints kept outside the database; exit 1 and name what differs if any event was changed, removed, inserted or reordered',
    )
    .option('--json', 'print { ok, chain, receipts, checkpoints, lastCheckpoint, unattested, findings, note } (exit 1 when ok is false, as in text)')
    .action(async (opts: { json?: boolean }) => {
      const ctx = await openContext()
      try {
        const verdict = await verifyAuditLog(ctx.db, ctx.keys.audit.verifying, ctx.config.audit)
        const { chain, receipts } = verdict
        if (opts.json) {
          printJson({
            ok: verdict.ok,
            chain: chain.ok
              ? { ok: true, events: chain.events, firstSeq: chain.firstSeq, lastSeq: chain.lastSeq }
              : { ok: false, events: chain.events, brokenAt: chain.brokenAt, reason: chain.reason, field: chain.field ?? null },
            receipts: receipts.ok ? { ok: true, receipts: receipts.receipts } : { ok: false, receipts: receipts.receipts, brokenAt: receipts.brokenAt },
            checkpoints: verdict.checkpoints,
            lastCheckpoint: verdict.lastCheckpoint ? { n: verdict.lastCheckpoint.n, seq: verdict.lastCheckpoint.seq, at: verdict.lastCheckpoint.at } : null,
            unattested: verdict.unattested,
            findings: verdict.findings,
            note: describeUnattested(verdict) ?? null,
          })
          if (!verdict.ok) process.exitCode = 1
          return
        }
        if (receipts.receipts > 0 || !receipts.ok) {
          process.stdout.write(
            receipts.ok
              ? `retention receipts kept after purges of the log: ${receipts.receipts} verified\n`
              : `retention receipts: BROKEN at seq ${receipts.brokenAt}: its content no longer matches its hash; ${receipts.receipts} before it verified\n`,
          )
        }
        if (chain.ok) {
          process.stdout.write(
            chain.events === 0 ? 'audit log: empty, nothing to verify\n' : `audit log: ${chain.events} events verified (seq ${chain.firstSeq} to ${chain.lastSeq}), chain intact\n`,
          )
        } else {
          const why = {
            hash_mismatch: 'its content no longer matches its hash (changed after it was written)',
            link_mismatch: 'it does not link to the previous event (an event before it was changed or replaced)',
            gap: 'the event with this sequence number is missing (deleted)',
            bad_start: 'the log does not start where the last truncation left it',
            version_downgrade: 'it carries an unkeyed version-1 hash after keyed version-2 events (written outside Passerelle)',
            text_mismatch: `its free text${chain.ok ? '' : chain.field ? ` "${chain.field}"` : ''} no longer matches the digest the event committed to (changed after it was written)`,
          }[chain.reason]
          process.stdout.write(`audit log: BROKEN at seq ${chain.brokenAt}: ${why} (${chain.reason}); ${chain.events} events before it verified\n`)
        }
        process.stdout.write(
          verdict.lastCheckpoint
            ? `checkpoints: ${verdict.checkpoints} signed checkpoint(s), the last ${verdict.lastCheckpoint.n} at seq ${verdict.lastCheckpoint.seq} (${parisTime(verdict.lastCheckpoint.at)})\n`
            : 'checkpoints: none\n',
        )
        for (const finding of verdict.findings) process.stdout.write(`TAMPERING SUSPECTED: ${finding}\n`)
        const note = describeUnattested(verdict)
        if (note) process.stdout.write(`note: ${note}\n`)
        if (!verdict.ok) process.exitCode = 1
      } finally {
        await ctx.close()
      }
    })

  audit
    .command('search')
    .description('search the audit log, newest first')
    .option('--from <instant>', 'events at or after (ISO-8601)')
    .option('--to <instant>', 'events before (ISO-8601)')
    .option('--actor <email>', 'user e-mail')
    .option('--organisation <siret>', 'organisation SIRET')
    .option('--purpose <id>', 'purpose id')
    .option('--action <name>', 'e.g. api.beneficiaire.read')
    .option('--outcome <outcome>', 'granted, denied, done or failed')
    .option('--request-id <id>', 'one request')
    .option('--beneficiaire <uuid>', 'events about this person (opaque id)')
    .option('--limit <n>', 'how many events', '50')
    .option('--json', 'one JSON object per line')
    .action(async (opts: Record<string, string | boolean | undefined>) => {
      const when = (text: string | boolean | undefined, name: string) => {
        if (typeof text !== 'string') return undefined
        const d = new Date(text)
        if (Number.isNaN(d.getTime())) throw new Error(`--${name}: not an ISO-8601 instant`)
        return d
      }
      const limit = Number(opts.limit)
      if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) throw new Error('--limit: a number from 1 to 10000')
      if (typeof opts.beneficiaire === 'string' && !/^[0-9a-f-]{36}$/i.test(opts.beneficiaire)) throw new Error('--beneficiaire: an opaque person id (UUID)')
      const ctx = await openContext()
      try {
        let subject: string | undefined
        if (typeof opts.beneficiaire === 'string') {
          const person = await findPersonByPublicId(ctx.db, opts.beneficiaire)
          if (!person) {
            process.stderr.write('passerelle audit search: no person has this id\n')
            process.exitCode = 1
            return
          }
          subject = auditSubject(ctx.keys.pseudonym, person.matchKey)
        }
        const text = (v: string | boolean | undefined) => (typeof v === 'string' ? v : undefined)
        const events = await searchAuditEvents(ctx.db, {
          from: when(opts.from, 'from'),
          to: when(opts.to, 'to'),
          actor: text(opts.actor),
          organisation: text(opts.organisation),
          purpose: text(opts.purpose),
          action: text(opts.action),
          outcome: text(opts.outcome),
          requestId: text(opts.requestId),
          subject,
          limit,
        })
        for (const e of events) {
          if (opts.json) process.stdout.write(`${JSON.stringify(e)}\n`)
          else {
            const status = e.details.status === undefined ? '' : ` ${String(e.details.status)}`
            process.stdout.write(
              `${e.seq}\t${parisTime(e.occurredAt)}\t${e.outcome}${status}\t${e.action}\t${e.actor ?? '-'}\t${e.organisation ?? '-'}\t${e.purpose ?? '-'}\t${e.subject ?? '-'}\t${e.requestId ?? '-'}\n`,
            )
          }
        }
        if (!opts.json) process.stderr.write(`${events.length} event(s)\n`)
      } finally {
        await ctx.close()
      }
    })
}
