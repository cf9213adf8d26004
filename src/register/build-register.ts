import type { Flow } from '../flows/flow.ts'
import { durationInWords } from '../labels/french-format.ts'
import { levelLabel, transformLabel, transformShortLabel } from '../labels/generalisation-labels.ts'
import { CANONICAL_FIELDS, FIELDS_BY_ID, type CanonicalField, type FieldCategory } from '../model/fields.ts'
import { ARTICLE9_CATEGORIES } from '../declarations/check-declarations.ts'
import { namesExampleDomain } from '../purposes/controller.ts'
import { exposedName, type Purpose, type Transform } from '../purposes/purpose.ts'
import type { RetentionPolicy } from '../retention/policy.ts'
import { readStatistics } from '../statistics/declaration.ts'
import {
  ANCHOR_LABELS,
  AUDIT_LABELS,
  CATEGORY_LABELS,
  CATEGORY_ORDER,
  GDPR_ARTICLE6_LABELS,
  ORGANISATION_TYPE_LABELS,
  ROLE_LABELS,
  SCOPE_LABELS,
  TRANSFERS_OUTSIDE_EU,
} from './labels.ts'
import type { SecurityMeasure } from './security-measures.ts'
import type { RegisterDisclosure } from '../exchange/france-travail-api/register-disclosures.ts'

/**
 * The register of processing activities (GDPR Art. 30), built from the same declarations that drive ingestion,
 * projection and retention, so it cannot drift from what the software does. Pure: the declarations, the
 * policies and the security measures come in; the renderers (Markdown, HTML, JSON) only lay it out.
 */
export interface Register {
  title: string
  /** `YYYY-MM-DD`. */
  generatedOn: string
  controllers: { name: string; contact: string }[]
  /** True while a controller still names a reserved example domain (mappings/controller.yaml not filled in). */
  controllerToComplete: boolean
  purposes: RegisterPurpose[]
  dataMap: DataMap
  /** Catalogue fields no purpose declares: received in the flows, never stored. */
  neverStored: RegisterField[]
  /** Flows that feed no catalogue field (e.g. orientations feeding the partner API's assignments). */
  otherFlows: { id: string; title: string; producer: string; description: string | null; retention: RegisterRetention }[]
  /** Policies for the gateway's own data (audit log, rejections, staging files, tokens). */
  systemRetention: RegisterRetention[]
  security: SecurityMeasure[]
  transfers: string
  /** Recipients outside the gateway that it sends personal data to (the France Travail partner APIs). */
  disclosures?: RegisterDisclosure[]
}

export interface RegisterField {
  id: string
  label: string
  category: FieldCategory
  categoryLabel: string
  /** Where it comes from in the flows (element path or column). */
  element: string
  flows: string[]
}

export interface RegisterPurposeField extends RegisterField {
  /** Name it leaves under; null for `omit` (used inside Passerelle, never sent). */
  exposedAs: string | null
  transform: Transform
  transformLabel: string
}

export interface RegisterRetentionPhase {
  phase: 'active' | 'archive' | 'destroy'
  label: string
  /** ISO-8601 duration as declared (`P36M`). */
  duration: string
  durationLabel: string
  anchor: string | null
  anchorLabel: string | null
  description: string
}

export interface RegisterRetention {
  policy: string
  found: boolean
  title: string | null
  appliesTo: string | null
  phases: RegisterRetentionPhase[]
  /** Fields the archive keeps (French labels). */
  archiveKeeps: string[]
  sources: { text: string; url: string | null }[]
}

export interface RegisterPurpose {
  id: string
  title: string
  titleEn: string
  description: string
  descriptionEn: string
  controller: { name: string; contact: string }
  legalBasis: { gdpr: string; gdprLabel: string; national: string }
  article9: { category: string; categoryLabel: string; condition: string }[]
  dataSubjects: string[]
  recipients: { role: string; roleLabel: string; organisationTypes: { id: string; label: string }[]; description: string | null }[]
  transfers: string
  sourceFlows: { id: string; title: string; producer: string; retention: string | null }[]
  categories: { category: FieldCategory; label: string; article9: boolean; fields: RegisterPurposeField[] }[]
  fieldCount: number
  retention: RegisterRetention
  /** The policies of the source flows: data from each flow follows its own flow's clock. */
  sourceRetention: { flow: string; retention: RegisterRetention }[]
  audit: { level: string; label: string }
  erasable: boolean
  /** Whether the purpose declares a statistical section (pseudonymised, k-anonymous extracts). */
  statistical: boolean
  /** The safeguards of its extracts, when it declares a valid statistical section. */
  statistics: RegisterStatistics | null
}

export interface RegisterStatistics {
  k: number
  maxSuppressionRate: number
  quasiIdentifiers: { column: string; hierarchy: string; levels: string[]; levelLabels: string[] }[]
  sensitive: string[]
  measures: string[]
  recipients: string[]
  aggregates: { name: string; threshold: number }[]
}

export interface DataMap {
  purposes: string[]
  flows: { id: string; title: string }[]
  rows: DataMapRow[]
}

export interface DataMapRow extends RegisterField {
  key: boolean
  stored: boolean
  /** Purpose id → short transform label when the purpose declares the field, else null. */
  cells: Record<string, string | null>
}

export interface RegisterInput {
  purposes: ReadonlyMap<string, Purpose>
  /** The file flows and the partner-API flows (a purpose may name either as a source). */
  flows: ReadonlyMap<string, Pick<Flow, 'id' | 'title' | 'producer' | 'retention' | 'description'>>
  /** Undefined when the policies could not be loaded: each named policy is then reported "not found". */
  retentionPolicies: ReadonlyMap<string, RetentionPolicy> | undefined
  security: SecurityMeasure[]
  generatedOn: string
  catalogue?: readonly CanonicalField[]
}

export function buildRegister(input: RegisterInput): Register {
  const catalogue = input.catalogue ?? CANONICAL_FIELDS
  const byId = input.catalogue ? new Map(catalogue.map((f) => [f.id, f])) : FIELDS_BY_ID
  const purposes = [...input.purposes.values()].sort((a, b) => a.id.localeCompare(b.id))
  const retention = (name: string) => describeRetention(name, input.retentionPolicies, byId)

  const registerField = (f: CanonicalField): RegisterField => ({
    id: f.id,
    label: f.label,
    category: f.category,
    categoryLabel: CATEGORY_LABELS[f.category],
    element: f.source,
    flows: f.sources.filter((s) => input.flows.has(s)),
  })

  const registerPurposes: RegisterPurpose[] = purposes.map((p) => {
    const fields: RegisterPurposeField[] = p.fields.flatMap((declared) => {
      const f = byId.get(declared.field)
      if (!f) return []
      return [
        {
          ...registerField(f),
          flows: f.sources.filter((s) => p.source_flows.includes(s)),
          exposedAs: declared.transform === 'omit' ? null : exposedName(declared),
          transform: declared.transform,
          transformLabel:
            transformLabel(declared.transform, declared.length) +
            (declared.consent
              ? ` ; communiqué seulement avec l'accord de la personne (${byId.get(declared.consent.field)?.label ?? declared.consent.field} = ${declared.consent.given}), sinon vide`
              : ''),
        },
      ]
    })
    const categories = CATEGORY_ORDER.filter((c) => fields.some((f) => f.category === c)).map((c) => ({
      category: c,
      label: CATEGORY_LABELS[c],
      article9: ARTICLE9_CATEGORIES.includes(c),
      fields: fields.filter((f) => f.category === c),
    }))
    return {
      id: p.id,
      title: p.title,
      titleEn: p.title_en,
      description: p.description,
      descriptionEn: p.description_en,
      controller: p.controller,
      legalBasis: { gdpr: p.legal_basis.gdpr, gdprLabel: GDPR_ARTICLE6_LABELS[p.legal_basis.gdpr] ?? p.legal_basis.gdpr, national: p.legal_basis.national },
      article9: p.article9.map((a) => ({
        category: a.category,
        categoryLabel: CATEGORY_LABELS[a.category as FieldCategory] ?? a.category,
        condition: a.condition,
      })),
      dataSubjects: p.data_subjects,
      recipients: p.recipients.map((r) => ({
        role: r.role,
        roleLabel: ROLE_LABELS[r.role],
        organisationTypes: r.organisation_types.map((t) => ({ id: t, label: ORGANISATION_TYPE_LABELS[t] ?? t })),
        description: r.description ?? null,
      })),
      transfers: TRANSFERS_OUTSIDE_EU,
      sourceFlows: p.source_flows.map((id) => {
        const flow = input.flows.get(id)
        return { id, title: flow?.title ?? `${id} (flux inconnu)`, producer: flow?.producer ?? '?', retention: flow?.retention ?? null }
      }),
      categories,
      fieldCount: fields.length,
      retention: retention(p.retention),
      sourceRetention: p.source_flows.flatMap((id) => {
        const flow = input.flows.get(id)
        return flow ? [{ flow: id, retention: retention(flow.retention) }] : []
      }),
      audit: { level: p.audit, label: AUDIT_LABELS[p.audit] ?? p.audit },
      erasable: p.erasable,
      statistical: p.statistics !== undefined,
      statistics: registerStatistics(p),
    }
  })

  const declaredBy = new Map<string, Map<string, string>>()
  for (const p of purposes) {
    for (const declared of p.fields) {
      if (!declaredBy.has(declared.field)) declaredBy.set(declared.field, new Map())
      declaredBy.get(declared.field)!.set(p.id, transformShortLabel(declared.transform, declared.length))
    }
  }
  const rows: DataMapRow[] = catalogue.map((f) => ({
    ...registerField(f),
    key: f.key,
    stored: f.key || declaredBy.has(f.id),
    cells: Object.fromEntries(purposes.map((p) => [p.id, declaredBy.get(f.id)?.get(p.id) ?? null])),
  }))

  const controllers = new Map<string, { name: string; contact: string }>()
  for (const p of purposes) controllers.set(`${p.controller.name}\u0000${p.controller.contact}`, p.controller)

  const systemRetention = [...(input.retentionPolicies?.values() ?? [])]
    .filter((p) => p.appliesTo !== 'flow-data' && p.appliesTo !== 'purpose')
    .sort((a, b) => a.id.localeCompare(b.id))
    .map((p) => retention(p.id))

  const fed = new Set(catalogue.flatMap((f) => f.sources as readonly string[]))
  const otherFlows = [...input.flows.values()]
    .filter((f) => !fed.has(f.id))
    .sort((a, b) => a.id.localeCompare(b.id))
    .map((f) => ({ id: f.id, title: f.title, producer: f.producer, description: f.description ?? null, retention: retention(f.retention) }))

  return {
    title: 'Registre des activités de traitement — Passerelle RSA',
    generatedOn: input.generatedOn,
    controllers: [...controllers.values()],
    controllerToComplete: [...controllers.values()].some(namesExampleDomain),
    purposes: registerPurposes,
    dataMap: {
      purposes: purposes.map((p) => p.id),
      flows: [...input.flows.values()].sort((a, b) => a.id.localeCompare(b.id)).map((f) => ({ id: f.id, title: f.title })),
      rows,
    },
    neverStored: rows.filter((r) => !r.stored).map(({ key: _k, stored: _s, cells: _c, ...field }) => field),
    otherFlows,
    systemRetention,
    security: input.security,
    transfers: TRANSFERS_OUTSIDE_EU,
  }
}

function registerStatistics(purpose: Purpose): RegisterStatistics | null {
  const { statistics } = readStatistics(purpose)
  if (!statistics) return null
  return {
    k: statistics.k,
    maxSuppressionRate: statistics.max_suppression_rate,
    quasiIdentifiers: statistics.quasi_identifiers.map((qi) => ({
      column: qi.column,
      hierarchy: qi.hierarchy,
      levels: qi.levels.map((l) => (typeof l === 'string' ? l : l.name)),
      levelLabels: qi.levels.map((l) => levelLabel(qi.hierarchy, typeof l === 'string' ? l : l.name)),
    })),
    sensitive: statistics.sensitive,
    measures: statistics.measures,
    recipients: statistics.recipients.map((r) => r.name),
    aggregates: statistics.aggregates.map((a) => ({ name: a.name, threshold: a.threshold })),
  }
}

function describeRetention(
  name: string,
  policies: ReadonlyMap<string, RetentionPolicy> | undefined,
  byId: ReadonlyMap<string, CanonicalField>,
): RegisterRetention {
  const policy = policies?.get(name)
  if (!policy) {
    return { policy: name, found: false, title: null, appliesTo: null, phases: [], archiveKeeps: [], sources: [] }
  }
  const phases: RegisterRetentionPhase[] = [
    {
      phase: 'active',
      label: 'Base active',
      duration: policy.active.durationText,
      durationLabel: durationInWords(policy.active.duration),
      anchor: policy.active.anchor,
      anchorLabel: ANCHOR_LABELS[policy.active.anchor],
      description:
        policy.appliesTo === 'flow-data' || policy.appliesTo === 'purpose'
          ? 'données servies aux finalités qui les déclarent'
          : 'conservation pour le fonctionnement et le contrôle de Passerelle',
    },
  ]
  if (policy.archive) {
    phases.push({
      phase: 'archive',
      label: 'Archive intermédiaire',
      duration: policy.archive.durationText,
      durationLabel: durationInWords(policy.archive.duration),
      anchor: policy.archive.anchor,
      anchorLabel: ANCHOR_LABELS[policy.archive.anchor],
      description: policy.archive.purpose.trim(),
    })
  }
  const destroyAfter = durationInWords(policy.destroyAfter)
  phases.push({
    phase: 'destroy',
    label: 'Destruction',
    duration: policy.destroyAfterText,
    durationLabel: destroyAfter,
    anchor: null,
    anchorLabel: null,
    description: `${policy.destroyAfterText === 'P0D' || destroyAfter === 'aucun délai' ? 'dès la fin' : `${destroyAfter} après la fin`} de la phase ${policy.archive ? "d'archive" : 'active'}, avec un reçu de destruction au journal d'audit`,
  })
  return {
    policy: policy.id,
    found: true,
    title: policy.title,
    appliesTo: SCOPE_LABELS[policy.appliesTo] ?? policy.appliesTo,
    phases,
    archiveKeeps: (policy.archive?.keeps ?? []).map((id) => byId.get(id)?.label ?? id),
    sources: policy.sources.map((s) => ({ text: s.text, url: s.url ?? null })),
  }
}
