import { createHash } from 'node:crypto'
import { mkdir, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { limitationHolds, oppositionHolds, processingExclusion, type ExclusionFacts } from '../access/exclusions.ts'
import type { Keys } from '../crypto/keys.ts'
import type { Queryable } from '../db/db.ts'
import { searchAuditEvents } from '../http/audit-search.ts'
import { exposedLabel, frenchFieldValue } from '../labels/field-labels.ts'
import { FIELDS_BY_ID } from '../model/fields.ts'
import { project } from '../purposes/project.ts'
import { exposedName, type Purpose } from '../purposes/purpose.ts'
import { GDPR_ARTICLE6_LABELS } from '../register/labels.ts'
import { accessHistory, type AccessEntry, type OrganisationInfo } from './access-history.ts'
import { currentDeadline } from './deadline.ts'
import { flowLabel } from './labels.ts'
import { emptyHeldPerson, holdsAnything, readHeldPerson, type HeldPerson, type HeldRow, type Place, type Provenance } from './person-data.ts'
import { selectRequest, selectRequestsOfSubject } from './queries.ts'
import { openFlagsOfPerson } from './rectification.ts'
import { recordStep } from './record-step.ts'
import { renderAccessHtml } from './render-access-html.ts'
import { RightsError, type RightsContext, type RightsRequest } from './rights-request.ts'

/**
 * The answer to an access request (art. 15): everything held on the person — each stored value with the flow it
 * came from and when it was transmitted, in the active base and in the archive —, what each purpose sees of it
 * through the same projection as every other exit (project()), the state history, who follows them, the
 * limitations, the oppositions, their requests, and who accessed their file (access-history.ts). Nothing about
 * anyone else: only the person's own rows are read, and a shared dossier shows its own fields, never the other
 * members.
 */
export interface ExportSource {
  flowId: string | null
  flow: string
  transmittedAt: string | null
}

export interface ExportField {
  id: string
  label: string
  value: unknown
  /** The value as the person reads it: a code with its label, an amount in euros, a date DD/MM/YYYY. */
  display: string
  contested: boolean
}

export interface ExportItem {
  place: Place
  kind: 'personne' | 'dossier' | 'appartenance' | 'france-travail' | 'orientation-france-travail'
  title: string
  source: ExportSource
  fields: ExportField[]
}

export interface PurposeRecord {
  place: Place
  dossier: string | null
  fields: { name: string; label: string; value: unknown; display: string; source: ExportSource }[]
}

export interface PurposeView {
  id: string
  title: string
  description: string
  legalBasis: { gdpr: string; label: string; national: string }
  recipients: string[]
  retention: string
  erasable: boolean
  /** An opposition to this purpose stands: it no longer processes the person. */
  opposed: boolean
  /** A limitation of processing stands: no purpose processes the person meanwhile. */
  limited: boolean
  /** What the purpose reads of the data held, through its projection; empty while it may not process the person. */
  records: PurposeRecord[]
}

export interface AccessExport {
  generatedAt: string
  request: { id: number; type: string; receivedOn: string; deadline: string }
  controller: { name: string; contact: string } | null
  found: boolean
  sources: string[]
  data: ExportItem[]
  purposes: PurposeView[]
  stateChanges: {
    place: Place
    field: string
    from: string | null
    to: string | null
    /** `from` and `to` as the person reads them (codes with their label). */
    fromDisplay: string
    toDisplay: string
    effectiveDate: string | null
    source: ExportSource
  }[]
  assignments: { organisation: string; startsOn: string; endsOn: string | null }[]
  limitations: { since: string; liftedAt: string | null }[]
  /** France Travail records without a NIR waiting for an operator's decision that name the person (matching queue). */
  queuedRecords: { flow: string; state: string; reason: string; transmittedAt: string; possiblyOther: boolean }[]
  oppositions: { purpose: string; title: string; since: string }[]
  requests: { id: number; type: string; receivedOn: string; state: string; outcome: string | null }[]
  accessHistory: AccessEntry[]
}

const source = (p: Provenance): ExportSource => ({ flowId: p.flowId, flow: flowLabel(p.flowId), transmittedAt: p.transmittedAt })

/** dossiers.transmission_state as the person reads it. */
const TRANSMISSION_STATES: Record<string, string> = {
  transmitted: "transmis par l'organisme",
  not_transmitted: "n'est plus transmis par l'organisme",
}

const KIND_TITLES = {
  persons: ['personne', 'Identité'],
  dossiers: ['dossier', 'Dossier RSA'],
  dossier_members: ['appartenance', 'Votre place dans le dossier RSA'],
  france_travail_registrations: ['france-travail', 'Inscription à France Travail'],
  france_travail_orientations: ['orientation-france-travail', 'Orientation connue de France Travail'],
} as const

function item(row: HeldRow, contested: ReadonlySet<string>, suffix = ''): ExportItem {
  const [kind, title] = KIND_TITLES[row.table]
  const flagKey = (fieldId: string) => `${row.table}:${row.rowId}:${fieldId}`
  return {
    place: row.place,
    kind,
    title: `${title}${suffix}`,
    source: source(row.source),
    fields: Object.entries(row.values).map(([id, value]) => ({
      id,
      label: FIELDS_BY_ID.get(id)?.label ?? id,
      value,
      display: frenchFieldValue(id, value),
      contested: row.place === 'active' && contested.has(flagKey(id)),
    })),
  }
}

/** One canonical record per dossier the person belongs to (or one for the person alone), with each table's row. */
function recordsOf(held: HeldPerson, place: Place): { dossier: string | null; rows: Partial<Record<HeldRow['table'], HeldRow>> }[] {
  const person = place === 'active' ? held.person : held.archivedPerson
  const registration = place === 'active' ? held.registration : held.archivedRegistration
  const memberships = place === 'active' ? held.memberships : held.archivedMemberships
  const orientation = place === 'active' ? held.franceTravailOrientation : undefined
  const ft = { ...(registration ? { france_travail_registrations: registration } : {}), ...(orientation ? { france_travail_orientations: orientation } : {}) }
  if (memberships.length === 0) {
    if (!person && !registration && !orientation) return []
    return [{ dossier: null, rows: { ...(person ? { persons: person } : {}), ...ft } }]
  }
  return memberships.map((m) => ({
    dossier: `${String(m.dossier.values['dossier.organisme'] ?? '')} ${String(m.dossier.values['dossier.numdemrsa'] ?? '')}`.trim(),
    rows: {
      ...(person ? { persons: person } : {}),
      dossiers: m.dossier,
      dossier_members: m.member,
      ...ft,
    },
  }))
}

/**
 * What the purpose reads of the person, active base and archive alike (the person is told what is held and how
 * each purpose would see it), unless an exclusion keeps the purpose from processing them: the same rule as the
 * partner API and the extracts (src/access/exclusions.ts).
 */
function purposeView(purpose: Purpose, held: HeldPerson, facts: ExclusionFacts, asOf: Date): PurposeView {
  const records: PurposeRecord[] = []
  if (processingExclusion(facts, purpose.id, asOf) === undefined) {
    for (const place of ['active', 'archive'] as const) {
      for (const r of recordsOf(held, place)) {
        const canonical: Record<string, unknown> = {}
        for (const row of Object.values(r.rows)) Object.assign(canonical, row.values)
        const projected = project(canonical, purpose, { asOf })
        const fields: PurposeRecord['fields'] = []
        for (const declared of purpose.fields) {
          if (declared.transform === 'omit') continue
          const name = exposedName(declared)
          const value = projected[name]
          if (value === null || value === undefined) continue
          const table = FIELDS_BY_ID.get(declared.field)?.table
          const row = table ? r.rows[table] : undefined
          fields.push({
            name,
            label: exposedLabel(declared.field, declared.transform, declared.length),
            value,
            display: frenchFieldValue(declared.field, value, declared.transform),
            source: source(row?.source ?? { flowId: null, fileId: null, transmittedAt: null }),
          })
        }
        if (fields.length > 0) records.push({ place, dossier: r.dossier, fields })
      }
    }
  }
  return {
    id: purpose.id,
    title: purpose.title,
    description: purpose.description,
    legalBasis: { gdpr: purpose.legal_basis.gdpr, label: GDPR_ARTICLE6_LABELS[purpose.legal_basis.gdpr] ?? purpose.legal_basis.gdpr, national: purpose.legal_basis.national },
    recipients: purpose.recipients.map((r) => r.description ?? r.role),
    retention: purpose.retention,
    erasable: purpose.erasable,
    opposed: facts.oppositions.some((o) => oppositionHolds(o, purpose.id, asOf)),
    limited: facts.limitations.some((l) => limitationHolds(l, asOf)),
    records,
  }
}

/** Every audit event about the subject (as subject or listed), oldest first. */
async function eventsAbout(db: Queryable, subject: string) {
  const all = []
  let beforeSeq: number | undefined
  for (;;) {
    const page = await searchAuditEvents(db, { subject, beforeSeq, limit: 1000 })
    all.push(...page)
    if (page.length < 1000) break
    beforeSeq = page.at(-1)!.seq
  }
  return all.reverse()
}

export async function buildAccessExport(
  db: Queryable,
  keys: Pick<Keys, 'nir'>,
  purposes: ReadonlyMap<string, Purpose>,
  request: RightsRequest,
  now: Date,
): Promise<AccessExport> {
  const held = request.matchKey ? await readHeldPerson(db, keys, request.matchKey) : emptyHeldPerson('')
  const flags = held.personId !== undefined || held.registration ? await openFlagsOfPerson(db, held) : []
  const contested = new Set(
    flags.map((f) => {
      const rowId = f.table === 'persons' ? f.personId : f.table === 'france_travail_registrations' ? f.registrationId : f.dossierId
      return `${f.table}:${rowId}:${f.fieldId}`
    }),
  )
  const oppositionRows = (await db.query<{ purpose: string; since: Date | string }>('select purpose, since from rights_oppositions where subject = $1 order by purpose', [request.subject])).rows
  const facts: ExclusionFacts = {
    place: 'active',
    limitations: held.limitations.map((l) => ({ since: new Date(l.since), liftedAt: l.liftedAt === null ? null : new Date(l.liftedAt) })),
    oppositions: oppositionRows.map((o) => ({ purpose: o.purpose, since: new Date(o.since) })),
  }

  const data: ExportItem[] = []
  {
    for (const place of ['active', 'archive'] as const) {
      const person = place === 'active' ? held.person : held.archivedPerson
      const registration = place === 'active' ? held.registration : held.archivedRegistration
      const memberships = place === 'active' ? held.memberships : held.archivedMemberships
      if (person) data.push(item(person, contested))
      for (const m of memberships) {
        const label = ` ${String(m.dossier.values['dossier.organisme'] ?? '')} n° ${String(m.dossier.values['dossier.numdemrsa'] ?? '')}`
        data.push(item(m.dossier, contested, label))
        data.push(item(m.member, contested, label))
      }
      if (registration) data.push(item(registration, contested))
      if (place === 'active' && held.franceTravailOrientation) data.push(item(held.franceTravailOrientation, contested))
    }
  }
  const chosen = [...purposes.values()].filter(
    (p) => (request.purpose === null || p.id === request.purpose) && p.source_flows.some((f) => held.flows.has(f)),
  )
  const events = await eventsAbout(db, request.subject)
  const sirets = [...new Set(events.map((e) => e.organisation).filter((s): s is string => s !== null))]
  const orgs = new Map<string, OrganisationInfo>(
    (await db.query<{ siret: string; name: string; type: string }>('select siret, name, type from organisations where siret = any($1::text[])', [sirets])).rows.map((o) => [
      o.siret,
      { name: o.name, type: o.type },
    ]),
  )
  const fieldOf = (name: string, onDossier: boolean) =>
    FIELDS_BY_ID.get(name) ?? [...FIELDS_BY_ID.values()].find((x) => (onDossier ? x.table === 'dossiers' : x.table === 'france_travail_registrations') && x.column === name.replace(/^france_travail\./, ''))
  const fieldLabel = (name: string, onDossier: boolean) => fieldOf(name, onDossier)?.label ?? (name === 'transmission_state' ? "Transmission par l'organisme" : name)
  const stateDisplay = (name: string, onDossier: boolean, value: string | null) =>
    name === 'transmission_state' && value !== null ? (TRANSMISSION_STATES[value] ?? value) : frenchFieldValue(fieldOf(name, onDossier)?.id, value)
  return {
    generatedAt: now.toISOString(),
    request: { id: request.id, type: request.type, receivedOn: request.receivedOn, deadline: currentDeadline(request) },
    controller: [...purposes.values()][0]?.controller ?? null,
    found: holdsAnything(held),
    sources: [...held.flows].sort().map(flowLabel),
    data,
    purposes: chosen.map((p) => purposeView(p, held, facts, now)),
    stateChanges: held.stateChanges.map((s) => ({
      place: s.place,
      field: fieldLabel(s.field, s.onDossier),
      from: s.from,
      to: s.to,
      fromDisplay: stateDisplay(s.field, s.onDossier, s.from),
      toDisplay: stateDisplay(s.field, s.onDossier, s.to),
      effectiveDate: s.effectiveDate,
      source: source(s.source),
    })),
    assignments: held.assignments.map((a) => ({ organisation: a.organisationName, startsOn: a.startsOn, endsOn: a.endsOn })),
    limitations: held.limitations,
    queuedRecords: held.queuedRecords.map((q) => ({ flow: flowLabel(q.flowId), state: q.state, reason: q.reason, transmittedAt: q.transmittedAt, possiblyOther: q.possiblyOther })),
    oppositions: oppositionRows.map((o) => ({ purpose: o.purpose, title: purposes.get(o.purpose)?.title ?? o.purpose, since: new Date(o.since).toISOString() })),
    requests: (await selectRequestsOfSubject(db, request.subject)).map((r) => ({ id: r.id, type: r.type, receivedOn: r.receivedOn, state: r.state, outcome: r.outcome })),
    accessHistory: accessHistory(events, request.subject, orgs, purposes),
  }
}

export interface WrittenExport {
  json: { path: string; sha256: string; bytes: number }
  html: { path: string; sha256: string; bytes: number }
  export: AccessExport
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex')

/**
 * Builds the export, renders it (JSON and a standalone French HTML page), and records the exit — the one place
 * where personal data deliberately leaves for the DPO — in the audit log before the files are written.
 */
export async function renderAccessExport(ctx: RightsContext, requestId: number): Promise<{ json: string; html: string; export: AccessExport }> {
  return ctx.db.transaction(async (tx) => {
    const request = await selectRequest(tx, requestId)
    if (!request) throw new RightsError('not_found', `request ${requestId}: no such request`)
    if (request.type !== 'access') throw new RightsError('conflict', `request ${requestId}: only an access request is answered with an export (this one is ${request.type})`)
    if (request.state === 'closed') throw new RightsError('conflict', `request ${requestId}: closed, so it no longer names the person; export before closing, or open a new request`)
    const exported = await buildAccessExport(tx, ctx.keys, ctx.purposes, request, ctx.now)
    const json = `${JSON.stringify(exported, null, 2)}\n`
    const html = renderAccessHtml(exported)
    await recordStep(tx, ctx, request, {
      action: 'rights.export',
      outcome: 'granted',
      details: {
        found: exported.found,
        items: exported.data.length,
        purposes: exported.purposes.map((p) => p.id),
        accesses: exported.accessHistory.length,
        sha256: { json: sha256(json), html: sha256(html) },
      },
    })
    return { json, html, export: exported }
  })
}

export async function writeAccessExport(ctx: RightsContext, requestId: number, outDir: string): Promise<WrittenExport> {
  const rendered = await renderAccessExport(ctx, requestId)
  await mkdir(outDir, { recursive: true, mode: 0o700 })
  const base = path.join(outDir, `demande-${requestId}-acces`)
  await writeFile(`${base}.json`, rendered.json, { mode: 0o600 })
  await writeFile(`${base}.html`, rendered.html, { mode: 0o600 })
  return {
    json: { path: `${base}.json`, sha256: sha256(rendered.json), bytes: Buffer.byteLength(rendered.json) },
    html: { path: `${base}.html`, sha256: sha256(rendered.html), bytes: Buffer.byteLength(rendered.html) },
    export: rendered.export,
  }
}
