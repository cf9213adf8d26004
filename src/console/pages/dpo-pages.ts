import type { Hono } from 'hono'
import { frenchDate } from '../../labels/french-format.ts'
import { registerFromDeclarations } from '../../register/register-from-declarations.ts'
import { renderRegisterHtml } from '../../register/render-html.ts'
import { addLegalHold, LegalHoldError, listLegalHolds, releaseLegalHold } from '../../retention/legal-holds.ts'
import { today } from '../../rights/deadline.ts'
import type { ConsoleContext, ConsoleEnv, ConsoleKit } from '../console-app.ts'
import { alert, csrfField, h, table, type Safe } from '../html.ts'

/**
 * The DPO's pages: data-subject requests with their deadlines and each right's workflow to the answer, "who accessed
 * this file", the audit search — all through the API's /v1/dpo routes in process — and, read by the console itself
 * (audited `console.*`), the legal holds and the processing register.
 */
const REQUESTS = '/console/dpo/demandes'

const TYPE_LABELS: Record<string, string> = {
  access: 'Accès (art. 15)',
  rectification: 'Rectification (art. 16)',
  limitation: 'Limitation (art. 18)',
  opposition: 'Opposition (art. 21)',
  erasure: 'Effacement (art. 17)',
}
const OUTCOME_LABELS: Record<string, string> = {
  granted: 'Accordée',
  partially_granted: 'Accordée en partie',
  refused: 'Refusée',
  no_data: 'Aucune donnée',
  withdrawn: 'Retirée par la personne',
}
const URGENCY: Record<string, Safe> = {
  overdue: h`<p class="fr-badge fr-badge--error fr-badge--sm">En retard</p>`,
  due_soon: h`<p class="fr-badge fr-badge--warning fr-badge--sm">Échéance proche</p>`,
  on_time: h`<p class="fr-badge fr-badge--info fr-badge--sm">Dans les délais</p>`,
  closed: h`<p class="fr-badge fr-badge--success fr-badge--sm">Close</p>`,
}
const OUTCOME_OF_EVENT: Record<string, string> = { granted: 'accordé', denied: 'refusé', done: 'fait', failed: 'échec' }

const API_MESSAGES: Record<string, string> = {
  invalid_parameters: 'Un champ n’est pas valide : vérifiez le NIR (13 ou 15 caractères), la date de naissance et la finalité.',
  invalid_request: 'La demande n’est pas valide pour ce type de droit.',
  conflict: 'Cette étape n’est pas possible dans l’état actuel de la demande.',
  not_found: 'Demande introuvable.',
}
const apiMessage = (json: any) => API_MESSAGES[json?.error?.code as string] ?? 'L’opération n’a pas abouti.'

function auditTable(caption: string, items: any[]): Safe {
  return table(
    caption,
    ['Date', 'Agent', 'Organisation', 'Action', 'Résultat', 'Canal'],
    items.map((e) => [
      new Date(e.occurredAt).toLocaleString('fr-FR', { timeZone: 'Europe/Paris' }),
      e.actor ?? '—',
      e.organisation ?? '—',
      e.action,
      OUTCOME_OF_EVENT[e.outcome] ?? e.outcome,
      e.details?.channel === 'console' ? 'Console' : e.details?.tokenId !== undefined ? 'API' : '—',
    ]),
    'Aucun événement.',
  )
}

export function registerDpoPages(app: Hono<ConsoleEnv>, kit: ConsoleKit): void {
  const requestNumber = (c: ConsoleContext) => {
    const n = c.req.param('n') ?? ''
    return /^[1-9][0-9]{0,11}$/.test(n) ? n : undefined
  }
  const back = (n: string, notice?: string) => `${REQUESTS}/${n}${notice ? `?message=${notice}` : ''}`

  app.get('/dpo/demandes', async (c) => {
    kit.agentOf(c)
    const answer = await kit.api(c, 'GET', '/v1/dpo/rights-requests?all=true')
    if (answer.status !== 200) return kit.problem(c, 404, 'Page introuvable', 'Cette page est réservée au délégué à la protection des données.')
    const items = answer.json.items as any[]
    const open = items.filter((i) => i.state === 'open')
    const rows = items.map((r) => [
      h`<a class="fr-link" href="${REQUESTS}/${r.id}">Demande n° ${r.id}</a>`,
      TYPE_LABELS[r.type] ?? r.type,
      frenchDate(r.receivedOn),
      frenchDate(r.deadline),
      r.state === 'open' ? (r.daysLeft >= 0 ? `${r.daysLeft} j` : `${-r.daysLeft} j de retard`) : '—',
      URGENCY[r.urgency] ?? r.urgency,
      r.outcome ? (OUTCOME_LABELS[r.outcome] ?? r.outcome) : '—',
    ])
    return kit.page(
      c,
      'Demandes de droits',
      h`<h1>Demandes de droits des personnes</h1>
<p>${open.length} demande${open.length > 1 ? 's' : ''} ouverte${open.length > 1 ? 's' : ''} ; ${open.filter((r) => r.urgency === 'overdue').length} en retard. Délai légal : un mois à compter de la réception, prolongeable de deux mois (art. 12.3 RGPD).</p>
<p><a class="fr-btn fr-icon-add-line fr-btn--icon-left" href="${REQUESTS}/nouvelle">Enregistrer une demande</a></p>
${table('Demandes, les plus urgentes d’abord', ['Demande', 'Droit', 'Reçue le', 'Échéance', 'Reste', 'Urgence', 'Réponse'], rows, 'Aucune demande enregistrée.')}`,
      { current: REQUESTS },
    )
  })

  app.get('/dpo/demandes/nouvelle', (c) => {
    const agent = kit.agentOf(c)
    if (agent.principal.user.role !== 'dpo') return kit.problem(c, 404, 'Page introuvable', 'Cette page est réservée au délégué à la protection des données.')
    const purposes = [...kit.deps.purposes.values()]
    return kit.page(
      c,
      'Enregistrer une demande',
      h`<h1>Enregistrer une demande de droits</h1>
<p>Le NIR et la date de naissance servent seulement à retrouver la personne : ils deviennent aussitôt des empreintes et ne sont ni conservés ni affichés.</p>
<form method="post" action="${REQUESTS}">${csrfField(agent.csrfToken)}
<div class="fr-select-group"><label class="fr-label" for="type">Droit exercé</label><select class="fr-select" id="type" name="type" required>${Object.entries(TYPE_LABELS).map(([v, l]) => h`<option value="${v}">${l}</option>`)}</select></div>
<div class="fr-input-group"><label class="fr-label" for="nir">NIR de la personne <span class="fr-hint-text">13 ou 15 caractères, sans espace</span></label><input class="fr-input" id="nir" name="nir" required autocomplete="off" inputmode="text" pattern="[0-9ABab ]{13,19}"></div>
<div class="fr-input-group"><label class="fr-label" for="birthDate">Date de naissance</label><input class="fr-input" type="date" id="birthDate" name="birthDate" required autocomplete="off"></div>
<div class="fr-input-group"><label class="fr-label" for="receivedOn">Reçue le <span class="fr-hint-text">Par défaut : aujourd’hui</span></label><input class="fr-input" type="date" id="receivedOn" name="receivedOn" value="${today(kit.now())}"></div>
<div class="fr-select-group"><label class="fr-label" for="purpose">Finalité visée <span class="fr-hint-text">Opposition, ou accès et effacement limités à une finalité</span></label><select class="fr-select" id="purpose" name="purpose"><option value="">Toutes</option>${purposes.map((p) => h`<option value="${p.id}">${p.title} (${p.id})</option>`)}</select></div>
<div class="fr-input-group"><label class="fr-label" for="fields">Données contestées <span class="fr-hint-text">Rectification : identifiants séparés par des virgules, par exemple personne.nom</span></label><input class="fr-input" id="fields" name="fields"></div>
<button type="submit" class="fr-btn">Enregistrer</button>
</form>`,
      { current: REQUESTS },
    )
  })

  app.post('/dpo/demandes', async (c) => {
    kit.agentOf(c)
    const f = await kit.form(c)
    const fields = (f.fields ?? '').split(',').map((s) => s.trim()).filter(Boolean)
    const body = {
      type: f.type,
      nir: (f.nir ?? '').replaceAll(' ', ''),
      birthDate: f.birthDate,
      ...(f.receivedOn ? { receivedOn: f.receivedOn } : {}),
      ...(f.purpose ? { purpose: f.purpose } : {}),
      ...(fields.length > 0 ? { fields } : {}),
    }
    const answer = await kit.api(c, 'POST', '/v1/dpo/rights-requests', body)
    if (answer.status !== 201) return kit.problem(c, answer.status === 404 ? 404 : 400, 'Demande non enregistrée', apiMessage(answer.json))
    return c.redirect(back(String(answer.json.id), answer.json.found ? 'enregistree' : 'enregistree-inconnue'), 303)
  })

  app.get('/dpo/demandes/:n', async (c) => {
    const agent = kit.agentOf(c)
    const n = requestNumber(c)
    if (!n) return kit.problem(c, 404, 'Demande introuvable', 'Ce numéro de demande n’existe pas.')
    const answer = await kit.api(c, 'GET', `/v1/dpo/rights-requests/${n}`)
    if (answer.status !== 200) return kit.problem(c, 404, 'Demande introuvable', 'Ce numéro de demande n’existe pas, ou cette page vous est fermée.')
    const d = answer.json
    const r = d.request
    const csrf = csrfField(agent.csrfToken)
    const messages: Record<string, string> = {
      enregistree: 'Demande enregistrée ; la personne a été retrouvée.',
      'enregistree-inconnue': 'Demande enregistrée ; aucune donnée ne correspond à ce NIR et cette date de naissance.',
      close: 'Réponse enregistrée : la demande est close.',
      prolongee: 'Échéance prolongée de deux mois.',
      levee: 'Limitation levée.',
      simulation: 'Simulation faite : rien n’a été effacé.',
      effacee: 'Effacement fait ; le reçu est dans le journal d’audit.',
    }
    const message = c.req.query('message')
    const steps: Safe[] = []
    if (r.state === 'open') {
      if (r.type === 'access')
        steps.push(h`<h3 class="fr-mt-3w">1. Préparer la réponse</h3><p>Toutes les données détenues sur la personne, ce que chaque finalité en voit, et qui a consulté son dossier.</p>
<p><a class="fr-btn fr-btn--secondary fr-icon-download-line fr-btn--icon-left" href="${REQUESTS}/${n}/reponse" download>Télécharger la réponse (page HTML à imprimer)</a></p>`)
      if (r.type === 'rectification')
        steps.push(h`<h3 class="fr-mt-3w">1. Avis de rectification à l’organisme source</h3><p>Identifiants du dossier et données contestées, jamais les valeurs.</p>
<p><a class="fr-btn fr-btn--secondary fr-icon-download-line fr-btn--icon-left" href="${REQUESTS}/${n}/avis" download>Télécharger l’avis de rectification</a></p>`)
      if (r.type === 'limitation' && r.limitation !== null)
        steps.push(h`<h3 class="fr-mt-3w">1. Limitation en cours</h3><p>La personne n’est plus servie à personne tant que la limitation tient.</p>
<form method="post" action="${REQUESTS}/${n}/lever">${csrf}<button class="fr-btn fr-btn--secondary" type="submit">Lever la limitation</button></form>`)
      if (r.type === 'opposition' || r.type === 'erasure')
        steps.push(h`<h3 class="fr-mt-3w">1. Décision d’effacement</h3><p>Décidée d’après les bases légales des finalités ; un refus vient avec le motif à donner à la personne.</p>
<form method="post" action="${REQUESTS}/${n}/effacement" class="fr-mb-2w">${csrf}<input type="hidden" name="dryRun" value="true"><button class="fr-btn fr-btn--secondary" type="submit">Simuler (rien n’est effacé)</button></form>
<form method="post" action="${REQUESTS}/${n}/effacement">${csrf}<input type="hidden" name="dryRun" value="false"><button class="fr-btn fr-btn--tertiary" type="submit">Effacer maintenant</button></form>`)
      steps.push(h`<h3 class="fr-mt-3w">${steps.length + 1}. Répondre à la personne</h3>
<form method="post" action="${REQUESTS}/${n}/cloture">${csrf}<div class="fr-select-group"><label class="fr-label" for="outcome">Réponse donnée</label><select class="fr-select" id="outcome" name="outcome">${Object.entries(OUTCOME_LABELS).map(([v, l]) => h`<option value="${v}">${l}</option>`)}</select></div>
<button class="fr-btn" type="submit">Enregistrer la réponse et clore</button></form>`)
      if (!r.extendedDueOn)
        steps.push(h`<h3 class="fr-mt-3w">Prolonger l’échéance</h3><form method="post" action="${REQUESTS}/${n}/prolongation">${csrf}<div class="fr-input-group"><label class="fr-label" for="reason">Motif <span class="fr-hint-text">Au moins 10 caractères ; sans donnée personnelle</span></label><textarea class="fr-input" id="reason" name="reason" minlength="10" maxlength="1000" required></textarea></div><button class="fr-btn fr-btn--secondary" type="submit">Prolonger de deux mois</button></form>`)
    }
    const actions = (d.actions as any[]).map((a) => [new Date(a.occurredAt).toLocaleString('fr-FR', { timeZone: 'Europe/Paris' }), a.actor, a.action])
    return kit.page(
      c,
      `Demande n° ${n}`,
      h`<nav role="navigation" class="fr-breadcrumb" aria-label="vous êtes ici :"><ol class="fr-breadcrumb__list"><li><a class="fr-breadcrumb__link" href="${REQUESTS}">Demandes de droits</a></li><li><a class="fr-breadcrumb__link" aria-current="page">Demande n° ${n}</a></li></ol></nav>
<h1>Demande n° ${n} — ${TYPE_LABELS[r.type] ?? r.type}</h1>
${message && messages[message] ? alert('success', messages[message]!) : ''}
<p>${URGENCY[d.urgency] ?? ''}</p>
<ul><li>Reçue le ${frenchDate(r.receivedOn)} ; échéance le ${frenchDate(d.deadline)}${r.extendedDueOn ? ' (prolongée)' : ''}</li>
<li>Personne : ${r.matchedBy === 'none' ? 'aucune donnée trouvée' : 'retrouvée'} (pseudonyme ${r.subject.slice(0, 12)}…)</li>
${r.purpose ? h`<li>Finalité visée : ${kit.deps.purposes.get(r.purpose)?.title ?? r.purpose}</li>` : ''}
${r.state === 'closed' ? h`<li>Réponse : ${OUTCOME_LABELS[r.outcome] ?? r.outcome}, le ${frenchDate(String(r.closedAt).slice(0, 10))}</li>` : ''}</ul>
${r.state === 'open' ? h`<h2 class="fr-mt-4w">Étapes jusqu’à la réponse</h2>${steps}` : ''}
<h2 class="fr-mt-4w">Historique de la demande</h2>
${table('Actions sur la demande', ['Date', 'Par', 'Action'], actions)}`,
      { current: REQUESTS },
    )
  })

  const download = (kind: 'export' | 'notice', format: string) => async (c: ConsoleContext) => {
    kit.agentOf(c)
    const n = requestNumber(c)
    if (!n) return kit.problem(c, 404, 'Demande introuvable', 'Ce numéro de demande n’existe pas.')
    const answer = await kit.api(c, 'GET', `/v1/dpo/rights-requests/${n}/${kind}?format=${format}`)
    if (answer.status !== 200) return kit.problem(c, answer.status === 409 ? 409 : 404, 'Document indisponible', answer.status === 409 ? 'Ce document ne correspond pas à ce type de demande.' : 'Demande introuvable.')
    return new Response(answer.response.body, {
      status: 200,
      headers: { 'Content-Type': 'text/html; charset=utf-8', 'Content-Disposition': answer.response.headers.get('content-disposition') ?? 'attachment', 'Cache-Control': 'no-store' },
    })
  }
  app.get('/dpo/demandes/:n/reponse', download('export', 'html'))
  app.get('/dpo/demandes/:n/avis', download('notice', 'html'))

  const step = (path: string, body: (f: Record<string, string>) => unknown, notice: (f: Record<string, string>) => string) =>
    app.post(`/dpo/demandes/:n/${path}`, async (c) => {
      kit.agentOf(c)
      const n = requestNumber(c)
      if (!n) return kit.problem(c, 404, 'Demande introuvable', 'Ce numéro de demande n’existe pas.')
      const f = await kit.form(c)
      const api = { cloture: 'close', prolongation: 'extension', lever: 'lift', effacement: 'erasure' }[path]!
      const answer = await kit.api(c, 'POST', `/v1/dpo/rights-requests/${n}/${api}`, body(f))
      if (answer.status !== 200) return kit.problem(c, answer.status === 409 ? 409 : 400, 'Étape refusée', apiMessage(answer.json))
      return c.redirect(back(n, notice(f)), 303)
    })
  step('cloture', (f) => ({ outcome: f.outcome }), () => 'close')
  step('prolongation', (f) => ({ reason: f.reason ?? '' }), () => 'prolongee')
  step('lever', () => undefined, () => 'levee')
  step('effacement', (f) => ({ dryRun: f.dryRun !== 'false' }), (f) => (f.dryRun === 'false' ? 'effacee' : 'simulation'))

  app.get('/dpo/journal', async (c) => {
    kit.agentOf(c)
    const q = c.req.query()
    const params = new URLSearchParams({ limit: '100' })
    const filters: Record<string, string> = {}
    for (const name of ['actor', 'organisation', 'action', 'outcome', 'beneficiaireId'] as const) {
      const v = (q[name] ?? '').trim()
      if (v) {
        params.set(name, v)
        filters[name] = v
      }
    }
    const answer = await kit.api(c, 'GET', `/v1/dpo/audit-events?${params}`)
    if (answer.status === 404 && !filters.beneficiaireId) return kit.problem(c, 404, 'Page introuvable', 'Cette page est réservée au délégué à la protection des données.')
    const input = (name: string, label: string, hint = '') =>
      h`<div class="fr-input-group fr-col-12 fr-col-md-4"><label class="fr-label" for="${name}">${label}${hint ? h` <span class="fr-hint-text">${hint}</span>` : ''}</label><input class="fr-input" id="${name}" name="${name}" value="${filters[name] ?? ''}"></div>`
    const result =
      answer.status === 200
        ? auditTable(filters.beneficiaireId ? 'Qui a consulté ce dossier' : 'Événements, les plus récents d’abord', answer.json.items)
        : alert('error', 'Recherche refusée', answer.status === 404 ? 'Aucune personne ne porte cet identifiant.' : 'Un critère n’est pas valide.')
    return kit.page(
      c,
      'Journal d’audit',
      h`<h1>Journal d’audit</h1>
<p>Chaque consultation, par l’API ou la console, y est enregistrée. Pour savoir <strong>qui a consulté un dossier</strong>, donnez l’identifiant opaque de la personne.</p>
<form method="get" action="/console/dpo/journal" class="fr-mb-4w"><fieldset class="fr-fieldset"><legend class="fr-fieldset__legend">Rechercher</legend><div class="fr-grid-row fr-grid-row--gutters fr-col-12">
${input('beneficiaireId', 'Identifiant de la personne', 'UUID')}${input('actor', 'Agent', 'Adresse électronique')}${input('organisation', 'Organisation', 'SIRET')}${input('action', 'Action', 'Par exemple api.beneficiaire.read')}
<div class="fr-select-group fr-col-12 fr-col-md-4"><label class="fr-label" for="outcome">Résultat</label><select class="fr-select" id="outcome" name="outcome"><option value="">Tous</option>${Object.entries(OUTCOME_OF_EVENT).map(([v, l]) => h`<option value="${v}"${filters.outcome === v ? h` selected` : ''}>${l}</option>`)}</select></div>
</div><button type="submit" class="fr-btn fr-mt-2w">Rechercher</button></fieldset></form>
${result}`,
      { current: '/console/dpo/journal' },
    )
  })

  app.get('/dpo/gels', async (c) => {
    const agent = kit.agentOf(c)
    if (agent.principal.user.role !== 'dpo') return kit.problem(c, 404, 'Page introuvable', 'Cette page est réservée au délégué à la protection des données.')
    const holds = await listLegalHolds(kit.deps.db, { all: true })
    await kit.audit(c, { action: 'console.dpo.holds.list', details: { count: holds.length } })
    return kit.page(
      c,
      'Gels juridiques',
      h`<h1>Gels juridiques</h1>
<p>Tant qu’un gel tient (contentieux, enquête, réclamation en cours), le dossier peut être archivé mais n’est jamais détruit. Lever le gel laisse la prochaine purge détruire ce qui est échu.</p>
${c.req.query('message') === 'pose' ? alert('success', 'Gel posé') : c.req.query('message') === 'leve' ? alert('success', 'Gel levé') : ''}
${table(
  'Gels, en cours et levés',
  ['N°', 'Organisme', 'Dossier', 'Posé le', 'Par', 'Levé le'],
  holds.map((hold) => [
    String(hold.id),
    hold.organisme,
    hold.numdemrsa ?? 'détruit',
    frenchDate(hold.createdAt.toISOString().slice(0, 10)),
    hold.createdBy,
    hold.releasedAt
      ? frenchDate(hold.releasedAt.toISOString().slice(0, 10))
      : h`<form method="post" action="/console/dpo/gels/${hold.id}/levee">${csrfField(agent.csrfToken)}<button class="fr-btn fr-btn--sm fr-btn--secondary" type="submit">Lever le gel n° ${hold.id}</button></form>`,
  ]),
  'Aucun gel.',
)}
<h2 class="fr-mt-4w">Poser un gel</h2>
<form method="post" action="/console/dpo/gels">${csrfField(agent.csrfToken)}
<div class="fr-input-group"><label class="fr-label" for="numdemrsa">Numéro de dossier (NUMDEMRSA)</label><input class="fr-input" id="numdemrsa" name="numdemrsa" required pattern="[0-9A-Za-z]{1,20}" autocomplete="off"></div>
<div class="fr-select-group"><label class="fr-label" for="organisme">Organisme <span class="fr-hint-text">Seulement si le numéro existe à la CAF et à la MSA</span></label><select class="fr-select" id="organisme" name="organisme"><option value="">Déduit du numéro</option><option value="CAF">CAF</option><option value="MSA">MSA</option></select></div>
<div class="fr-input-group"><label class="fr-label" for="holdReason">Motif <span class="fr-hint-text">Le contentieux ou la réclamation servi, sans donnée personnelle</span></label><input class="fr-input" id="holdReason" name="reason" required minlength="5" maxlength="500"></div>
<div class="fr-input-group"><label class="fr-label" for="reference">Référence <span class="fr-hint-text">Facultatif : numéro de dossier contentieux</span></label><input class="fr-input" id="reference" name="reference" maxlength="200"></div>
<button class="fr-btn" type="submit">Poser le gel</button></form>`,
      { current: '/console/dpo/gels' },
    )
  })

  const holdRefused = (c: ConsoleContext) =>
    kit.problem(c, 400, 'Gel refusé', 'Dossier introuvable, motif trop court ou contenant ce qui ressemble à une donnée personnelle, ou gel déjà levé.')
  app.post('/dpo/gels', async (c) => {
    const agent = kit.agentOf(c)
    if (agent.principal.user.role !== 'dpo') return kit.problem(c, 404, 'Page introuvable', 'Cette page est réservée au délégué à la protection des données.')
    const f = await kit.form(c)
    try {
      await addLegalHold(kit.deps.db, kit.deps.keys, {
        numdemrsa: (f.numdemrsa ?? '').trim(),
        ...(f.organisme ? { organisme: f.organisme } : {}),
        reason: f.reason ?? '',
        ...(f.reference ? { reference: f.reference } : {}),
        actor: agent.principal.user.email,
        now: kit.now(),
      })
    } catch (error) {
      if (error instanceof LegalHoldError) return holdRefused(c)
      throw error
    }
    return c.redirect('/console/dpo/gels?message=pose', 303)
  })
  app.post('/dpo/gels/:id/levee', async (c) => {
    const agent = kit.agentOf(c)
    const id = c.req.param('id')
    if (agent.principal.user.role !== 'dpo' || !/^[1-9][0-9]{0,11}$/.test(id)) return kit.problem(c, 404, 'Page introuvable', 'Cette page est réservée au délégué à la protection des données.')
    try {
      await releaseLegalHold(kit.deps.db, { id: Number(id), actor: agent.principal.user.email, now: kit.now() })
    } catch (error) {
      if (error instanceof LegalHoldError) return holdRefused(c)
      throw error
    }
    return c.redirect('/console/dpo/gels?message=leve', 303)
  })

  app.get('/dpo/registre', async (c) => {
    const agent = kit.agentOf(c)
    if (agent.principal.user.role !== 'dpo' || !kit.deps.register) return kit.problem(c, 404, 'Page introuvable', 'Cette page est réservée au délégué à la protection des données.')
    const register = registerFromDeclarations(kit.deps.register.declarations, kit.deps.register.config, today(kit.now()))
    await kit.audit(c, { action: 'console.dpo.register.read' })
    if (c.req.query('format') === 'html') {
      return c.body(renderRegisterHtml(register), 200, { 'Content-Type': 'text/html; charset=utf-8', 'Content-Disposition': 'attachment; filename="registre-des-traitements.html"' })
    }
    return kit.page(
      c,
      'Registre des traitements',
      h`<h1>Registre des activités de traitement</h1>
<p>Établi à partir des déclarations de Passerelle (flux, finalités, durées de conservation) le ${frenchDate(today(kit.now()))}.</p>
<p><a class="fr-btn fr-btn--secondary fr-icon-download-line fr-btn--icon-left" href="/console/dpo/registre?format=html" download>Télécharger le registre complet</a></p>
${register.purposes.map(
  (p) => h`<h2 class="fr-mt-4w">${p.title}</h2><p>${p.description}</p>
<ul><li>Responsable : ${p.controller.name}</li><li>Base légale : ${p.legalBasis.gdprLabel} — ${p.legalBasis.national}</li>
<li>Destinataires : ${p.recipients.map((r) => r.roleLabel).join(', ')}</li>
<li>${p.fieldCount} donnée${p.fieldCount > 1 ? 's' : ''} communiquée${p.fieldCount > 1 ? 's' : ''}</li>
<li>Conservation : ${p.retention.phases.map((ph) => `${ph.label} ${ph.durationLabel}`).join(' ; ') || '—'}</li></ul>`,
)}`,
      { current: '/console/dpo/registre' },
    )
  })
}
