import type { Command } from 'commander'
import { mkdir, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { writeAccessExport } from '../../rights/access-export.ts'
import { eraseForRequest, type ErasureResult } from '../../rights/erasure.ts'
import { liftLimitation } from '../../rights/limitation.ts'
import { issueRectificationNotice } from '../../rights/rectification-notice.ts'
import { closeRequest, extendRequest, listRequests, openRequest, publicRequest, showRequest, type ListedRequest, type RequestDetails } from '../../rights/requests.ts'
import { isOutcome, isRequestType, OUTCOMES, REQUEST_TYPES, type RightsContext } from '../../rights/rights-request.ts'
import { cliDeclarations, defaultCliActor, openContext, type AppContext } from '../context.ts'
import { parisTime } from '../format/paris-time.ts'
import { printJson } from '../format/print-json.ts'

/**
 * `passerelle rights ...`: the DPO's data-subject requests (docs/rights.md). The NIR and birth date given to
 * `rights open` become blind indexes at once and are never stored or printed; no command prints a personal value
 * except `rights export` and `rights notice`, which write the answer files (audited) to the directory given.
 */
const defaultActor = defaultCliActor

async function withRights<T>(actor: string | undefined, fn: (ctx: RightsContext, app: AppContext) => Promise<T>): Promise<T> {
  const { purposes } = cliDeclarations()
  const app = await openContext()
  try {
    return await fn({ db: app.db, keys: app.keys, purposes, now: new Date(), actor: actor ?? defaultActor() }, app)
  } finally {
    await app.close()
  }
}

const id = (value: string) => {
  const n = Number.parseInt(value, 10)
  if (!Number.isInteger(n) || n < 1 || String(n) !== value.trim()) throw new Error(`not a request number: ${JSON.stringify(value)}`)
  return n
}

/** `--nir -` reads the NIR from standard input (so it stays out of the shell history and the process list). */
async function readNir(value: string): Promise<string> {
  if (value !== '-') return value
  const chunks: Buffer[] = []
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString('utf8').trim()
}

export function register(program: Command): void {
  const rights = program.command('rights').description('data-subject requests (GDPR art. 15 to 21): access, rectification, limitation, opposition, erasure')

  rights
    .command('open')
    .description('record a request with its legal deadline (one month from receipt)')
    .requiredOption('--type <type>', `the right exercised: ${REQUEST_TYPES.join(', ')}`)
    .requiredOption('--nir <NIR>', 'the person’s NIR (13 or 15 characters); "-" reads it from standard input. Never stored or printed')
    .requiredOption('--birth-date <YYYY-MM-DD>', 'the person’s birth date. Never stored or printed')
    .option('--received <YYYY-MM-DD>', 'the day the request was received (default: today)')
    .option('--purpose <id>', 'access, opposition or erasure for one purpose only')
    .option('--field <id>', 'rectification: a contested field (canonical id, e.g. personne.nom); repeat for several', (v: string, all: string[]) => [...all, v], [] as string[])
    .option('--actor <name>', 'who records it (default: the system user)')
    .option('--json', 'print JSON')
    .action(async (opts: { type: string; nir: string; birthDate: string; received?: string; purpose?: string; field: string[]; actor?: string; json?: boolean }) => {
      if (!isRequestType(opts.type)) throw new Error(`--type: unknown type "${opts.type}" (known: ${REQUEST_TYPES.join(', ')})`)
      const type = opts.type
      const nir = await readNir(opts.nir)
      await withRights(opts.actor, async (ctx) => {
        const opened = await openRequest(ctx, { type, nir, birthDate: opts.birthDate, receivedOn: opts.received, purpose: opts.purpose, fields: opts.field })
        if (opts.json) return void process.stdout.write(`${JSON.stringify({ ...publicRequest(opened.request), found: opened.found, notes: opened.notes }, null, 2)}\n`)
        const r = opened.request
        process.stdout.write(
          `request #${r.id} (${r.type}${r.purpose ? `, purpose ${r.purpose}` : ''}) received ${r.receivedOn}, due ${r.dueOn}; subject ${r.subject}; ` +
            `person ${opened.found ? `found (${opened.matchedBy === 'nir' ? 'by NIR only' : 'by NIR and birth date'})` : 'not found'}\n` +
            opened.notes.map((n) => `  - ${n}\n`).join('') +
            nextStep(r.type, r.id),
        )
      })
    })

  rights
    .command('list')
    .description('requests by urgency: overdue, due soon, then the others (open ones unless --all)')
    .option('--all', 'include closed requests')
    .option('--due', 'only overdue and due-soon requests')
    .option('--soon-days <n>', 'days before the deadline a request is due soon (default 7)', (v) => Number.parseInt(v, 10))
    .option('--json', 'print JSON')
    .action(async (opts: { all?: boolean; due?: boolean; soonDays?: number; json?: boolean }) => {
      await withRights(undefined, async (ctx) => {
        const listed = await listRequests(ctx, { includeClosed: opts.all ?? false, only: opts.due ? 'due' : undefined, ...(opts.soonDays !== undefined ? { soonDays: opts.soonDays } : {}) })
        process.stdout.write(
          opts.json ? `${JSON.stringify(listed.map((l) => ({ ...publicRequest(l.request), deadline: l.deadline, urgency: l.urgency, daysLeft: l.daysLeft })), null, 2)}\n` : formatList(listed),
        )
      })
    })

  rights
    .command('show')
    .description('one request: deadline, every action taken, contested fields, oppositions')
    .argument('<id>', 'the request number', id)
    .option('--json', 'print JSON')
    .action(async (requestId: number, opts: { json?: boolean }) => {
      await withRights(undefined, async (ctx) => {
        const details = await showRequest(ctx, requestId)
        process.stdout.write(opts.json ? `${JSON.stringify({ ...details, request: publicRequest(details.request) }, null, 2)}\n` : formatDetails(details))
      })
    })

  rights
    .command('extend')
    .description('extend the deadline by two months (once, within the first month, art. 12(3)); tell the person the reason')
    .argument('<id>', 'the request number', id)
    .requiredOption('--reason <text>', 'why (complexity, number of requests): the person is told it; no personal value')
    .option('--actor <name>', 'who extends (default: the system user)')
    .option('--json', 'print the request as `rights show --json` prints it under "request"')
    .action(async (requestId: number, opts: { reason: string; actor?: string; json?: boolean }) => {
      await withRights(opts.actor, async (ctx) => {
        const r = await extendRequest(ctx, requestId, opts.reason)
        if (opts.json) return printJson(publicRequest(r))
        process.stdout.write(`request #${r.id} extended: now due ${r.extendedDueOn} (was ${r.dueOn})\n`)
      })
    })

  rights
    .command('close')
    .description('record the answer given to the person')
    .argument('<id>', 'the request number', id)
    .requiredOption('--outcome <outcome>', `the answer: ${OUTCOMES.join(', ')}`)
    .option('--actor <name>', 'who closes (default: the system user)')
    .option('--json', 'print the request as `rights show --json` prints it under "request"')
    .action(async (requestId: number, opts: { outcome: string; actor?: string; json?: boolean }) => {
      if (!isOutcome(opts.outcome)) throw new Error(`--outcome: unknown outcome "${opts.outcome}" (known: ${OUTCOMES.join(', ')})`)
      const outcome = opts.outcome
      await withRights(opts.actor, async (ctx) => {
        const r = await closeRequest(ctx, requestId, outcome)
        if (opts.json) return printJson(publicRequest(r))
        process.stdout.write(`request #${r.id} closed (${r.outcome}) on ${parisTime(r.closedAt!)}\n`)
      })
    })

  rights
    .command('export')
    .description('access request: write the answer (French HTML and JSON) to DIR — PERSONAL DATA, audited')
    .argument('<id>', 'the request number', id)
    .requiredOption('--out <dir>', 'directory for the files (created, mode 700; files mode 600)')
    .option('--actor <name>', 'who exports (default: the system user)')
    .option('--json', 'print { requestId, found, items, purposes, accesses, files: { html, json } } (paths and sha256, never the content)')
    .action(async (requestId: number, opts: { out: string; actor?: string; json?: boolean }) => {
      await withRights(opts.actor, async (ctx) => {
        const written = await writeAccessExport(ctx, requestId, opts.out)
        const x = written.export
        if (opts.json) {
          return printJson({
            requestId,
            found: x.found,
            items: x.found ? x.data.length : 0,
            purposes: x.found ? x.purposes.length : 0,
            accesses: x.found ? x.accessHistory.length : 0,
            files: { html: { path: written.html.path, sha256: written.html.sha256 }, json: { path: written.json.path, sha256: written.json.sha256 } },
          })
        }
        process.stdout.write(
          `request #${requestId}: ${x.found ? `${x.data.length} item(s), ${x.purposes.length} purpose(s), ${x.accessHistory.length} access(es)` : 'nothing held'}\n` +
            `  ${written.html.path} (sha256 ${written.html.sha256})\n  ${written.json.path} (sha256 ${written.json.sha256})\n`,
        )
      })
    })

  rights
    .command('notice')
    .description('rectification request: write the notice to the source body (text and HTML) to DIR — identifiers, no contested value')
    .argument('<id>', 'the request number', id)
    .requiredOption('--out <dir>', 'directory for the files')
    .option('--actor <name>', 'who issues it (default: the system user)')
    .action(async (requestId: number, opts: { out: string; actor?: string }) => {
      await withRights(opts.actor, async (ctx) => {
        const issued = await issueRectificationNotice(ctx, requestId)
        await mkdir(opts.out, { recursive: true, mode: 0o700 })
        const base = path.join(opts.out, `demande-${requestId}-avis-rectification`)
        await writeFile(`${base}.txt`, issued.text, { mode: 0o600 })
        await writeFile(`${base}.html`, issued.html, { mode: 0o600 })
        const bodies = issued.notice.recipients.map((r) => `${r.body}${r.needsIdentity ? ' (send the identity through a secure channel)' : ''}`)
        process.stdout.write(`request #${requestId}: notice to ${bodies.length ? bodies.join(', ') : 'nobody (no contested value pending)'}\n  ${base}.txt\n  ${base}.html\n`)
      })
    })

  rights
    .command('lift')
    .description('limitation request: lift the limitation (tell the person beforehand, art. 18(3))')
    .argument('<id>', 'the request number', id)
    .option('--actor <name>', 'who lifts (default: the system user)')
    .action(async (requestId: number, opts: { actor?: string }) => {
      await withRights(opts.actor, async (ctx) => {
        const lifted = await liftLimitation(ctx, requestId)
        process.stdout.write(`request #${requestId}: limitation ${lifted.limitationId} lifted on ${parisTime(lifted.liftedAt)}\n`)
      })
    })

  rights
    .command('erase')
    .description('opposition or erasure request: decide from the purposes’ legal bases, then delete (with --dry-run: count only)')
    .argument('<id>', 'the request number', id)
    .option('--dry-run', 'decide and count, change nothing')
    .option('--actor <name>', 'who erases (default: the system user)')
    .option('--json', 'print { requestId, dryRun, decision, counts, ids: { count, sha256 } }')
    .action(async (requestId: number, opts: { dryRun?: boolean; actor?: string; json?: boolean }) => {
      await withRights(opts.actor, async (ctx) => {
        const result = await eraseForRequest(ctx, requestId, { dryRun: opts.dryRun ?? false })
        if (opts.json) return printJson({ requestId: result.requestId, dryRun: result.dryRun, decision: result.decision, counts: result.counts, ids: result.ids })
        process.stdout.write(formatErasure(result))
      })
    })
}

function nextStep(type: string, id: number): string {
  const next: Record<string, string> = {
    access: `passerelle rights export ${id} --out <dir>`,
    rectification: `passerelle rights notice ${id} --out <dir>`,
    limitation: `passerelle rights lift ${id} (when the limitation ends)`,
    opposition: `passerelle rights erase ${id} --dry-run`,
    erasure: `passerelle rights erase ${id} --dry-run`,
  }
  return `  next: ${next[type]}, then passerelle rights close ${id} --outcome <outcome>\n`
}

export function formatList(listed: readonly ListedRequest[]): string {
  if (listed.length === 0) return 'no request\n'
  const mark = { overdue: 'OVERDUE', due_soon: 'due soon', on_time: '', closed: 'closed' } as const
  return (
    listed
      .map(({ request: r, deadline, urgency, daysLeft }) => {
        const left = urgency === 'closed' ? `${r.outcome}` : daysLeft < 0 ? `${-daysLeft} day(s) late` : `${daysLeft} day(s) left`
        return `#${r.id} ${r.type.padEnd(13)} received ${r.receivedOn} due ${deadline}${r.extendedDueOn ? ' (extended)' : ''}  ${left}${mark[urgency] ? `  ${mark[urgency]}` : ''}`
      })
      .join('\n') + '\n'
  )
}

export function formatDetails(d: RequestDetails): string {
  const r = d.request
  const lines = [
    `request #${r.id}: ${r.type}${r.purpose ? ` (purpose ${r.purpose})` : ''}, ${r.state}${r.outcome ? ` (${r.outcome})` : ''}`,
    `  subject ${r.subject}; matched by ${r.matchedBy}${r.matchKey === null ? '; person erased' : ''}`,
    `  received ${r.receivedOn}, due ${r.dueOn}${r.extendedDueOn ? `, extended to ${r.extendedDueOn}: ${r.extensionReason}` : ''} — ${d.urgency}`,
    ...(r.fields.length ? [`  contested fields: ${r.fields.join(', ')}`] : []),
    ...(d.contested.length
      ? [`  flags: ${d.contested.map((c) => `${c.fieldId} on ${c.table} ${c.closedAt ? `closed (${c.closedReason}${c.closedByFileId ? `, file ${c.closedByFileId}` : ''})` : 'open'}`).join('; ')}`]
      : []),
    ...(d.oppositions.length ? [`  standing oppositions: ${d.oppositions.map((o) => `${o.purpose} since ${parisTime(o.since)}`).join(', ')}`] : []),
    '  actions:',
    ...d.actions.map((a) => `    ${parisTime(a.occurredAt)} ${a.action} by ${a.actor} ${JSON.stringify(a.details)}`),
  ]
  return `${lines.join('\n')}\n`
}

export function formatErasure(result: ErasureResult): string {
  const d = result.decision
  const lines = [
    `request #${result.requestId}${result.dryRun ? ' (dry run: nothing changed)' : ''}: ${d.outcome}, scope ${d.scope}`,
    ...(d.granted.length ? [`  opposed purposes: ${d.granted.join(', ')}`] : []),
    ...(d.fieldsToClear.length ? [`  fields cleared: ${d.fieldsToClear.join(', ')}`] : []),
    ...Object.entries(result.counts).map(([table, n]) => `  ${table}: ${n}`),
    ...(result.ids.count ? [`  rows: ${result.ids.count}, sha256 of their sorted ids ${result.ids.sha256}`] : []),
    ...d.refused.map((r) => `  refused for ${r.purpose}: ${r.reason}`),
  ]
  return `${lines.join('\n')}\n`
}
