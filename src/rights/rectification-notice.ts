import type { Keys } from '../crypto/keys.ts'
import type { Queryable } from '../db/db.ts'
import { FIELDS_BY_ID } from '../model/fields.ts'
import type { Purpose } from '../purposes/purpose.ts'
import { escapeHtml as esc } from '../html/escape-html.ts'
import { frenchDate, htmlPage } from './html-page.ts'
import { codeWithLabel } from '../labels/field-labels.ts'
import { readHeldPerson } from './person-data.ts'
import { listContestedFields } from './rectification.ts'
import { today } from './deadline.ts'
import { selectRequest } from './queries.ts'
import { recordStep } from './record-step.ts'
import { RightsError, type RightsContext, type RightsRequest } from './rights-request.ts'

/**
 * The notice the DPO sends to the source body of contested data (art. 16 and 19): which dossier, which person in
 * it, which fields — not the values. The source body holds the values and is the one to check them with the person
 * and correct them; a value in the notice would only add a copy of personal data to a message between
 * administrations (art. 5(1)(c)), and the value the person claims is not proof. Identifiers of the dossier are
 * given because the source needs them to find it; where they do not single the person out (two members with the
 * same role, no France Travail identifier held), the notice says the identity follows through a secure channel.
 */
export interface NoticeRecipient {
  /** CAF, MSA or France Travail. */
  body: string
  references: { label: string; value: string }[]
  /** The person's role in the dossier, as a label (dossier recipients). */
  role: string | null
  /** The references do not single the person out: the DPO sends the identity through a secure channel. */
  needsIdentity: boolean
  fields: { id: string; label: string; source: string }[]
}

export interface RectificationNotice {
  requestId: number
  receivedOn: string
  issuedOn: string
  controller: { name: string; contact: string } | null
  recipients: NoticeRecipient[]
  /** Contested fields still open that no held row carries (nothing to send). */
  fieldsWithoutRow: string[]
}

export async function buildRectificationNotice(
  db: Queryable,
  keys: Pick<Keys, 'nir'>,
  purposes: ReadonlyMap<string, Purpose>,
  request: RightsRequest,
  issuedOn: string,
): Promise<RectificationNotice> {
  const flags = (await listContestedFields(db, request.id)).filter((f) => f.closedAt === null)
  const held = request.matchKey ? await readHeldPerson(db, keys, request.matchKey) : undefined
  const recipients = new Map<string, NoticeRecipient>()
  const fieldInfo = (id: string) => {
    const f = FIELDS_BY_ID.get(id)!
    return { id, label: f.label, source: f.source }
  }
  const add = (key: string, make: () => NoticeRecipient, fieldId: string) => {
    const r = recipients.get(key) ?? make()
    recipients.set(key, r)
    if (!r.fields.some((f) => f.id === fieldId)) r.fields.push(fieldInfo(fieldId))
  }
  const sameRole = new Map<number, number>()
  if (held?.personId !== undefined && held.memberships.length > 0) {
    const { rows } = await db.query<{ dossier_id: number; n: number }>(
      `select dm.dossier_id, count(*)::int as n
       from dossier_members dm
       join dossier_members me on me.dossier_id = dm.dossier_id and me.person_id = $1
       where dm.role = me.role
       group by dm.dossier_id`,
      [held.personId],
    )
    for (const r of rows) sameRole.set(Number(r.dossier_id), r.n)
  }
  const dossierRecipient = (dossierId: number) => (): NoticeRecipient => {
    const m = held?.memberships.find((x) => x.dossier.rowId === dossierId)
    const v = m?.dossier.values ?? {}
    const references = [
      ['Numéro de demande RSA (NUMDEMRSA)', v['dossier.numdemrsa']],
      ['Matricule allocataire', v['dossier.matricule']],
      ["Numéro d'organisme (NUMORG)", v['dossier.numeroOrganisme']],
    ]
      .filter(([, value]) => value !== undefined && value !== null)
      .map(([label, value]) => ({ label: String(label), value: String(value) }))
    const role = m?.member.values['personne.role']
    return {
      body: String(v['dossier.organisme'] ?? 'CAF/MSA'),
      references,
      role: role === undefined ? null : codeWithLabel('personne.role', String(role)),
      needsIdentity: role === undefined || (sameRole.get(dossierId) ?? 0) > 1 || references.length === 0,
      fields: [],
    }
  }
  const fieldsWithoutRow = new Set<string>()
  for (const flag of flags) {
    if (flag.table === 'france_travail_registrations') {
      const id = held?.registration?.values['franceTravail.identifiant']
      add(
        'france-travail',
        () => ({
          body: 'France Travail',
          references: id === undefined ? [] : [{ label: 'Identifiant France Travail', value: String(id) }],
          role: null,
          needsIdentity: id === undefined,
          fields: [],
        }),
        flag.fieldId,
      )
    } else if (flag.table === 'persons') {
      const dossiers = held?.memberships.map((m) => m.dossier.rowId) ?? []
      if (dossiers.length === 0) fieldsWithoutRow.add(flag.fieldId)
      for (const dossierId of dossiers) add(`dossier:${dossierId}`, dossierRecipient(dossierId), flag.fieldId)
    } else if (flag.dossierId !== null && held?.memberships.some((m) => m.dossier.rowId === flag.dossierId)) {
      add(`dossier:${flag.dossierId}`, dossierRecipient(flag.dossierId), flag.fieldId)
    } else {
      fieldsWithoutRow.add(flag.fieldId)
    }
  }
  const controller = [...purposes.values()][0]?.controller ?? null
  return {
    requestId: request.id,
    receivedOn: request.receivedOn,
    issuedOn,
    controller,
    recipients: [...recipients.values()],
    fieldsWithoutRow: [...fieldsWithoutRow],
  }
}

const INTRO =
  "La personne concernée a exercé auprès du Département son droit de rectification (article 16 du RGPD) sur des données que votre organisme lui transmet par les flux RSA. Votre organisme étant la source authentique de ces données, Passerelle ne les modifie pas : nous vous remercions de les vérifier avec la personne et, le cas échéant, de les corriger. La correction nous parviendra par le flux habituel et clôturera ce signalement (article 19 du RGPD : notification aux destinataires)."

const NO_VALUES =
  'Les valeurs contestées ne figurent pas dans cet avis : votre organisme les détient, et la personne vous apportera les justificatifs de la valeur exacte.'

const IDENTITY = "Les références ci-dessus ne suffisent pas à désigner la personne dans le dossier : son identité vous est communiquée séparément par voie sécurisée."

export function renderNoticeText(notice: RectificationNotice): string {
  const lines: string[] = [
    'AVIS DE DEMANDE DE RECTIFICATION — articles 16 et 19 du RGPD',
    `Référence : demande n° ${notice.requestId}, reçue le ${frenchDate(notice.receivedOn)} ; avis du ${frenchDate(notice.issuedOn)}`,
    ...(notice.controller ? [`Responsable du traitement : ${notice.controller.name}`, `Contact : ${notice.controller.contact}`] : []),
    '',
    INTRO,
    '',
  ]
  if (notice.recipients.length === 0) lines.push('Aucune donnée contestée n’est en attente de correction.', '')
  for (const r of notice.recipients) {
    lines.push(`À l'attention de : ${r.body}`)
    for (const ref of r.references) lines.push(`  ${ref.label} : ${ref.value}`)
    if (r.role) lines.push(`  Personne concernée : ${r.role} du dossier`)
    lines.push('  Données contestées :')
    for (const f of r.fields) lines.push(`    - ${f.label} (${f.source})`)
    if (r.needsIdentity) lines.push(`  ${IDENTITY}`)
    lines.push('')
  }
  lines.push(NO_VALUES, '')
  return lines.join('\n')
}

export function renderNoticeHtml(notice: RectificationNotice): string {
  const recipients = notice.recipients.length
    ? notice.recipients
        .map(
          (r) => `
<section>
  <h2>À l'attention de : ${esc(r.body)}</h2>
  <table class="meta">
    ${r.references.map((ref) => `<tr><th>${esc(ref.label)}</th><td>${esc(ref.value)}</td></tr>`).join('\n    ')}
    ${r.role ? `<tr><th>Personne concernée</th><td>${esc(r.role)} du dossier</td></tr>` : ''}
  </table>
  <h3>Données contestées</h3>
  <table>
    <thead><tr><th>Donnée</th><th>Élément du flux</th></tr></thead>
    <tbody>${r.fields.map((f) => `<tr><td>${esc(f.label)}</td><td><code>${esc(f.source)}</code></td></tr>`).join('')}</tbody>
  </table>
  ${r.needsIdentity ? `<p class="note">${esc(IDENTITY)}</p>` : ''}
</section>`,
        )
        .join('\n')
    : '<p>Aucune donnée contestée n’est en attente de correction.</p>'
  return htmlPage(
    `Avis de demande de rectification n° ${notice.requestId}`,
    `<h1>Avis de demande de rectification</h1>
<table class="meta">
  <tr><th>Référence</th><td>Demande n° ${esc(notice.requestId)}, reçue le ${esc(frenchDate(notice.receivedOn))}</td></tr>
  <tr><th>Date de l'avis</th><td>${esc(frenchDate(notice.issuedOn))}</td></tr>
  ${notice.controller ? `<tr><th>Responsable du traitement</th><td>${esc(notice.controller.name)}<br>${esc(notice.controller.contact)}</td></tr>` : ''}
</table>
<p>${esc(INTRO)}</p>
${recipients}
<p class="note">${esc(NO_VALUES)}</p>`,
  )
}

/**
 * Builds the notice of a rectification request, records the step (`rights.rectification.notice`: recipients and
 * fields, no value) and hands back the text and HTML versions for the DPO to send.
 */
export async function issueRectificationNotice(
  ctx: RightsContext,
  requestId: number,
): Promise<{ notice: RectificationNotice; text: string; html: string }> {
  return ctx.db.transaction(async (tx) => {
    const request = await selectRequest(tx, requestId)
    if (!request) throw new RightsError('not_found', `request ${requestId}: no such request`)
    if (request.type !== 'rectification') throw new RightsError('conflict', `request ${requestId}: only a rectification request has a notice (this one is ${request.type})`)
    if (request.matchKey === null) throw new RightsError('conflict', `request ${requestId}: it no longer names the person (closed with nothing pending, or erased)`)
    const notice = await buildRectificationNotice(tx, ctx.keys, ctx.purposes, request, today(ctx.now))
    await recordStep(tx, ctx, request, {
      action: 'rights.rectification.notice',
      details: { recipients: notice.recipients.map((r) => ({ body: r.body, fields: r.fields.map((f) => f.id), needsIdentity: r.needsIdentity })) },
    })
    return { notice, text: renderNoticeText(notice), html: renderNoticeHtml(notice) }
  })
}
