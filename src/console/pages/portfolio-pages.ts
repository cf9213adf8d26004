import type { Hono } from 'hono'
import { CODE_LISTS } from '../../labels/code-labels.ts'
import { exposedLabel, frenchFieldValue } from '../../labels/field-labels.ts'
import { frenchDate } from '../../labels/french-format.ts'
import { exposedName, type Purpose, type PurposeField } from '../../purposes/purpose.ts'
import { consolePurposes, type ConsoleEnv, type ConsoleKit } from '../console-app.ts'
import { alert, csrfField, h, table, type Safe } from '../html.ts'

/**
 * The referent's and structure manager's pages (and the instructor's): the portfolio with the API's filters, and a
 * person's page through the session's purpose, with the history of states and the France Travail situation. Both
 * are the partner API's answers (GET /v1/beneficiaires, /v1/beneficiaires/{id}, .../historique) called in process:
 * the same row filter, projection and audit events as a partner's software.
 */
const PORTFOLIO = '/console/portefeuille'
/** The beneficiaries' routes answer JSON values only (ids, codes, dates as text, projected fields): taken as built. */
const BY_VALUE = { byValue: true }

const shownFields = new WeakMap<Purpose, PurposeField[]>()
/** The purpose's exposed fields, worked out once per declaration (a portfolio page asks for every row). */
const shown = (purpose: Purpose): PurposeField[] => {
  let fields = shownFields.get(purpose)
  if (!fields) {
    fields = purpose.fields.filter((f) => f.transform !== 'omit')
    shownFields.set(purpose, fields)
  }
  return fields
}
/** The catalogue fields the portfolio table shows (personName, then the état du droit and France Travail columns). */
const LISTED_FIELDS = ['personne.nom', 'personne.prenom', 'dossier.etatDroit', 'franceTravail.etat'] as const
const declared = (purpose: Purpose, fieldId: string) => shown(purpose).find((f) => f.field === fieldId)
const exposesKept = (purpose: Purpose, fieldId: string) => purpose.fields.some((f) => f.field === fieldId && f.transform === 'keep')

function valueOf(data: Record<string, unknown>, field: PurposeField | undefined): string {
  if (!field) return ''
  return frenchFieldValue(field.field, data[exposedName(field)], field.transform)
}

function accessText(access: { mode: string; readOnly: boolean; until: string | null; via: string }): string {
  if (access.mode === 'grace') return `Lecture seule jusqu’au ${frenchDate(access.until)}`
  if (access.via === 'departement') return 'Base active du Département'
  return access.until ? `Suivi jusqu’au ${frenchDate(access.until)}` : 'Suivi en cours'
}

function personName(purpose: Purpose, data: Record<string, unknown>, id: string): string {
  const nom = declared(purpose, 'personne.nom')
  const prenom = declared(purpose, 'personne.prenom')
  const parts = [prenom ? data[exposedName(prenom)] : undefined, nom ? data[exposedName(nom)] : undefined].filter((v) => typeof v === 'string' && v !== '')
  return parts.length > 0 ? parts.join(' ') : `Personne ${id.slice(0, 8)}`
}

const API_ERRORS: Record<string, string> = {
  filter_not_allowed: 'Votre finalité ne permet pas de filtrer sur ce critère.',
  invalid_parameters: 'Un filtre n’est pas valide.',
  invalid_cursor: 'La page demandée n’est plus valable : revenez à la première page.',
}

export function registerPortfolioPages(app: Hono<ConsoleEnv>, kit: ConsoleKit): void {
  app.get('/portefeuille', async (c) => {
    const agent = kit.agentOf(c)
    const purpose = agent.principal.purpose
    const q = c.req.query()
    const params = new URLSearchParams({ limit: '50' })
    const filters = { etatDroit: q.etatDroit ?? '', soumisDroitsDevoirs: q.soumisDroitsDevoirs ?? '', inscritFranceTravail: q.inscritFranceTravail ?? '', modifieDepuis: q.modifieDepuis ?? '' }
    for (const name of ['etatDroit', 'soumisDroitsDevoirs', 'inscritFranceTravail'] as const) if (filters[name]) params.set(name, filters[name])
    if (/^\d{4}-\d{2}-\d{2}$/.test(filters.modifieDepuis)) params.set('modifieDepuis', `${filters.modifieDepuis}T00:00:00Z`)
    if (q.page && /^[A-Za-z0-9_.-]{1,200}$/.test(q.page)) params.set('cursor', q.page)
    // The table shows the name, the état du droit and the France Travail state: only those are read and projected.
    const listed = LISTED_FIELDS.map((id) => declared(purpose, id)).filter((f) => f !== undefined)
    if (listed.length > 0) params.set('champs', listed.map(exposedName).join(','))
    const answer = await kit.api(c, 'GET', `/v1/beneficiaires?${params}`, undefined, BY_VALUE)
    const purposeFilters = {
      etatDroit: exposesKept(purpose, 'dossier.etatDroit'),
      soumisDroitsDevoirs: exposesKept(purpose, 'personne.soumisDroitsDevoirs'),
      inscritFranceTravail: exposesKept(purpose, 'franceTravail.etat'),
    }
    const yesNo = (name: 'soumisDroitsDevoirs' | 'inscritFranceTravail', label: string) =>
      purposeFilters[name]
        ? h`<div class="fr-select-group fr-col-12 fr-col-md-3"><label class="fr-label" for="${name}">${label}</label><select class="fr-select" id="${name}" name="${name}">
<option value="">Indifférent</option>${(['true', 'false'] as const).map((v) => h`<option value="${v}"${filters[name] === v ? h` selected` : ''}>${v === 'true' ? 'Oui' : 'Non'}</option>`)}</select></div>`
        : ''
    const form = h`<form method="get" action="${PORTFOLIO}" class="fr-mb-4w"><fieldset class="fr-fieldset"><legend class="fr-fieldset__legend">Filtrer le portefeuille</legend>
<div class="fr-grid-row fr-grid-row--gutters fr-col-12">
${
  purposeFilters.etatDroit
    ? h`<div class="fr-select-group fr-col-12 fr-col-md-3"><label class="fr-label" for="etatDroit">État du droit</label><select class="fr-select" id="etatDroit" name="etatDroit"><option value="">Tous</option>
${Object.entries(CODE_LISTS.ETATDOSRSA).map(([code, label]) => h`<option value="${code}"${filters.etatDroit === code ? h` selected` : ''}>${code} — ${label}</option>`)}</select></div>`
    : ''
}
${yesNo('soumisDroitsDevoirs', 'Soumis aux droits et devoirs')}
${yesNo('inscritFranceTravail', 'Inscrit à France Travail')}
<div class="fr-input-group fr-col-12 fr-col-md-3"><label class="fr-label" for="modifieDepuis">Modifié depuis le <span class="fr-hint-text">Format : jj/mm/aaaa</span></label><input class="fr-input" type="date" id="modifieDepuis" name="modifieDepuis" value="${filters.modifieDepuis}"></div>
</div>
<div class="fr-fieldset__element"><button type="submit" class="fr-btn fr-mt-2w">Filtrer</button> <a class="fr-btn fr-btn--secondary fr-mt-2w" href="${PORTFOLIO}">Effacer les filtres</a></div>
</fieldset></form>`
    let results: Safe
    if (answer.status !== 200) {
      const code = answer.json?.error?.code as string | undefined
      results = alert('error', 'Recherche refusée', (code && API_ERRORS[code]) ?? 'La recherche n’a pas abouti.')
    } else {
      const items = answer.json.items as { id: string; access: { mode: string; readOnly: boolean; until: string | null; via: string }; data: Record<string, unknown> }[]
      const etat = declared(purpose, 'dossier.etatDroit')
      const ft = declared(purpose, 'franceTravail.etat')
      const headers = ['Personne', ...(etat ? ['État du droit'] : []), ...(ft ? ['France Travail'] : []), 'Accès']
      const rows = items.map((item) => [
        h`<a class="fr-link" href="/console/beneficiaires/${item.id}">${personName(purpose, item.data, item.id)}</a>`,
        ...(etat ? [valueOf(item.data, etat)] : []),
        ...(ft ? [valueOf(item.data, ft)] : []),
        item.access.mode === 'grace' ? h`<p class="fr-badge fr-badge--warning fr-badge--sm">${accessText(item.access)}</p>` : accessText(item.access),
      ])
      const next = answer.json.nextCursor as string | null
      const nextParams = new URLSearchParams({ ...Object.fromEntries(Object.entries(filters).filter(([, v]) => v)), ...(next ? { page: next } : {}) })
      results = h`<h2 class="fr-mt-4w">${items.length} personne${items.length > 1 ? 's' : ''} sur cette page</h2>
${table('Personnes de votre portefeuille', headers, rows, 'Aucune personne ne correspond à ces critères.')}
${next ? h`<p><a class="fr-link fr-icon-arrow-right-line fr-link--icon-right" href="${PORTFOLIO}?${nextParams.toString()}">Page suivante</a></p>` : ''}`
    }
    const allowed = consolePurposes(kit.deps.purposes, agent.principal.user.role, agent.principal.organisation.type)
    const switcher =
      allowed.length > 1
        ? h`<form method="post" action="/console/finalite" class="fr-mb-3w">${csrfField(agent.csrfToken)}<div class="fr-select-group"><label class="fr-label" for="purpose">Finalité de consultation <span class="fr-hint-text">Les données montrées dépendent de la finalité</span></label><select class="fr-select" id="purpose" name="purpose">${allowed.map(
            (p) => h`<option value="${p.id}"${p.id === purpose.id ? h` selected` : ''}>${p.title}</option>`,
          )}</select></div><button type="submit" class="fr-btn fr-btn--secondary">Changer de finalité</button></form>`
        : ''
    return kit.page(
      c,
      'Mon portefeuille',
      h`<h1>Mon portefeuille</h1>
<p>Les personnes qui vous sont confiées${agent.principal.user.role === 'structure-manager' ? ' (à votre structure)' : ''}, vues à travers la finalité « ${purpose.title} ». Après la fin d’un accompagnement, la fiche reste consultable en lecture seule pendant la période de grâce.</p>
${switcher}${form}${results}`,
      { current: PORTFOLIO },
    )
  })

  app.get('/beneficiaires/:id', async (c) => {
    const agent = kit.agentOf(c)
    const purpose = agent.principal.purpose
    const id = c.req.param('id')
    if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id)) {
      return kit.problem(c, 404, 'Personne introuvable', 'Cette personne n’est pas dans votre portefeuille.')
    }
    // The record and its history are asked for together (two API calls, each audited as a partner's would be): the
    // page waits for one round trip instead of two. For a person outside the portfolio both are refused.
    const [person, history] = await Promise.all([
      kit.api(c, 'GET', `/v1/beneficiaires/${id}`, undefined, BY_VALUE),
      kit.api(c, 'GET', `/v1/beneficiaires/${id}/historique?limit=200`, undefined, BY_VALUE),
    ])
    if (person.status !== 200) return kit.problem(c, 404, 'Personne introuvable', 'Cette personne n’est pas dans votre portefeuille.')
    const data = person.json.data as Record<string, unknown>
    const access = person.json.access as { mode: string; readOnly: boolean; until: string | null; via: string }
    const fields = shown(purpose)
    const general = fields.filter((f) => !f.field.startsWith('franceTravail.'))
    const ft = fields.filter((f) => f.field.startsWith('franceTravail.'))
    const list = (items: PurposeField[]) =>
      h`<dl class="fr-grid-row fr-grid-row--gutters">${items.map(
        (f) => h`<div class="fr-col-12 fr-col-md-6"><dt class="fr-text--bold fr-mb-0">${exposedLabel(f.field, f.transform, f.length)}</dt><dd class="fr-ml-0">${valueOf(data, f)}</dd></div>`,
      )}</dl>`
    const byName = new Map(fields.map((f) => [exposedName(f), f]))
    const changes = history.status === 200 ? (history.json.items as { field: string; from: unknown; to: unknown; effectiveDate: string | null; recordedAt: string }[]) : []
    const historyRows = changes.map((change) => {
      const f = byName.get(change.field)
      return [
        f ? exposedLabel(f.field, f.transform, f.length) : change.field,
        frenchFieldValue(f?.field, change.from, f?.transform),
        frenchFieldValue(f?.field, change.to, f?.transform),
        change.effectiveDate ? frenchDate(change.effectiveDate) : '—',
        frenchDate(change.recordedAt.slice(0, 10)),
      ]
    })
    const name = personName(purpose, data, id)
    return kit.page(
      c,
      `Fiche de ${name}`,
      h`<nav role="navigation" class="fr-breadcrumb" aria-label="vous êtes ici :"><ol class="fr-breadcrumb__list"><li><a class="fr-breadcrumb__link" href="${PORTFOLIO}">Mon portefeuille</a></li><li><a class="fr-breadcrumb__link" aria-current="page">Fiche</a></li></ol></nav>
<h1>${name}</h1>
${access.readOnly ? alert('warning', 'Lecture seule', `L’accompagnement a pris fin : vous pouvez consulter cette fiche jusqu’au ${frenchDate(access.until)}, sans la modifier.`) : h`<p>${accessText(access)}.</p>`}
<p class="fr-text--sm">Données vues à travers la finalité « ${purpose.title} » ; mises à jour le ${frenchDate(person.json.updatedAt.slice(0, 10))}. Cette consultation est enregistrée dans le journal d’audit.</p>
<h2 class="fr-mt-4w">Situation</h2>
${general.length > 0 ? list(general) : h`<p>Votre finalité ne donne accès à aucune donnée d’état civil ou de droit.</p>`}
<h2 class="fr-mt-4w">Situation France Travail</h2>
${ft.length === 0 ? h`<p>Votre finalité ne donne pas accès à la situation France Travail.</p>` : ft.every((f) => data[exposedName(f)] === null || data[exposedName(f)] === undefined) ? h`<p>Aucune inscription connue de France Travail.</p>` : list(ft)}
<h2 class="fr-mt-4w">Historique des changements</h2>
${table('Historique des changements d’état', ['Donnée', 'Avant', 'Après', 'Date d’effet', 'Enregistré le'], historyRows, 'Aucun changement enregistré.')}`,
      { current: PORTFOLIO },
    )
  })
}
