import type { Hono } from 'hono'
import { listApiTokens, revokeApiToken } from '../../auth/api-tokens.ts'
import { issueApiToken, TokenIssueError } from '../../auth/issue-api-token.ts'
import { frenchDate } from '../../labels/french-format.ts'
import { ORGANISATION_TYPE_LABELS, ROLE_LABELS } from '../../register/labels.ts'
import { today } from '../../rights/deadline.ts'
import type { ConsoleContext, ConsoleEnv, ConsoleKit } from '../console-app.ts'
import { alert, csrfField, h, table } from '../html.ts'

/**
 * The administrator's pages: organisations, users, assignments (list and create), job runs and imports with their
 * rejection counts — through the API's /v1/admin routes in process — and the partner software's tokens, read and
 * issued by the console itself (audited `console.admin.tokens.*`; a new token is shown once, never logged).
 */
const day = (iso: string | null | undefined) => (iso ? frenchDate(String(iso).slice(0, 10)) : '—')
const dateTime = (iso: string | null | undefined) => (iso ? new Date(iso).toLocaleString('fr-FR', { timeZone: 'Europe/Paris' }) : '—')
const OUTCOMES: Record<string, string> = { succeeded: 'réussi', failed: 'échec', skipped: 'sauté', running: 'en cours' }
const FILE_STATUS: Record<string, string> = { loaded: 'chargé', rejected: 'rejeté', quarantined: 'en quarantaine', loading: 'en cours' }

const API_MESSAGES: Record<string, string> = {
  invalid_parameters: 'Un champ n’est pas valide : identifiant de la personne (UUID), SIRET (14 chiffres), dates.',
  not_found: 'La personne, la structure ou le référent n’existe pas.',
  unknown_organisation: 'Aucune structure ne porte ce SIRET.',
  unknown_referent: 'Aucun référent actif de cette structure ne porte cette adresse.',
}

export function registerAdminPages(app: Hono<ConsoleEnv>, kit: ConsoleKit): void {
  const adminOnly = (c: ConsoleContext) => kit.problem(c, 404, 'Page introuvable', 'Cette page est réservée à l’administrateur.')

  app.get('/admin/organisations', async (c) => {
    kit.agentOf(c)
    const answer = await kit.api(c, 'GET', '/v1/admin/organisations?limit=500')
    if (answer.status !== 200) return adminOnly(c)
    return kit.page(
      c,
      'Organisations',
      h`<h1>Organisations</h1><p>Les structures partenaires et les services du Département. Création : <code>passerelle orgs create</code> ou l’API.</p>
${table('Organisations déclarées', ['Nom', 'SIRET', 'Type', 'Créée le'], (answer.json.items as any[]).map((o) => [o.name, o.siret, ORGANISATION_TYPE_LABELS[o.type] ?? o.type, day(o.createdAt)]))}`,
      { current: '/console/admin/organisations' },
    )
  })

  app.get('/admin/utilisateurs', async (c) => {
    kit.agentOf(c)
    const answer = await kit.api(c, 'GET', '/v1/admin/users?limit=500')
    if (answer.status !== 200) return adminOnly(c)
    return kit.page(
      c,
      'Utilisateurs',
      h`<h1>Utilisateurs</h1><p>Seuls les agents déclarés ici peuvent se connecter à la console ; une connexion ProConnect ne crée jamais de compte.</p>
${table(
  'Agents déclarés',
  ['Nom', 'Adresse électronique', 'Rôle', 'Organisation', 'Actif'],
  (answer.json.items as any[]).map((u) => [u.displayName, u.email, ROLE_LABELS[u.role as keyof typeof ROLE_LABELS] ?? u.role, u.organisation.name, u.active ? 'oui' : 'non']),
)}`,
      { current: '/console/admin/utilisateurs' },
    )
  })

  app.get('/admin/affectations', async (c) => {
    const agent = kit.agentOf(c)
    const answer = await kit.api(c, 'GET', '/v1/admin/assignments?limit=200')
    if (answer.status !== 200) return adminOnly(c)
    const orgs = await kit.api(c, 'GET', '/v1/admin/organisations?limit=500')
    const users = await kit.api(c, 'GET', '/v1/admin/users?limit=500')
    const referents = ((users.json?.items ?? []) as any[]).filter((u) => u.role === 'referent' && u.active)
    const message = c.req.query('message')
    return kit.page(
      c,
      'Affectations',
      h`<h1>Affectations</h1>
${message === 'creee' ? alert('success', 'Affectation créée', 'L’affectation précédente de la personne se termine la veille.') : ''}
<h2 class="fr-mt-4w">Créer une affectation</h2>
<form method="post" action="/console/admin/affectations" class="fr-mb-4w">${csrfField(agent.csrfToken)}
<div class="fr-input-group"><label class="fr-label" for="beneficiaireId">Identifiant de la personne <span class="fr-hint-text">Identifiant opaque (UUID), jamais un NIR</span></label><input class="fr-input" id="beneficiaireId" name="beneficiaireId" required pattern="[0-9a-fA-F-]{36}"></div>
<div class="fr-select-group"><label class="fr-label" for="organisationSiret">Structure</label><select class="fr-select" id="organisationSiret" name="organisationSiret" required>${((orgs.json?.items ?? []) as any[]).map((o) => h`<option value="${o.siret}">${o.name} (${o.siret})</option>`)}</select></div>
<div class="fr-select-group"><label class="fr-label" for="referentEmail">Référent <span class="fr-hint-text">Facultatif ; il doit appartenir à la structure</span></label><select class="fr-select" id="referentEmail" name="referentEmail"><option value="">Aucun (la structure seulement)</option>${referents.map((u) => h`<option value="${u.email}">${u.displayName} — ${u.organisation.name}</option>`)}</select></div>
<div class="fr-input-group"><label class="fr-label" for="startsOn">Début</label><input class="fr-input" type="date" id="startsOn" name="startsOn" required value="${today(kit.now())}"></div>
<button class="fr-btn" type="submit">Créer l’affectation</button></form>
<h2 class="fr-mt-4w">Affectations récentes</h2>
${table(
  'Affectations',
  ['Personne', 'Structure', 'Référent', 'Début', 'Fin', 'Origine'],
  (answer.json.items as any[]).map((a) => [a.beneficiaireId, a.organisation.name, a.referent?.email ?? '—', day(a.startsOn), day(a.endsOn), a.source === 'admin' ? 'administration' : 'fichier d’orientations']),
)}`,
      { current: '/console/admin/affectations' },
    )
  })

  app.post('/admin/affectations', async (c) => {
    kit.agentOf(c)
    const f = await kit.form(c)
    const body = {
      beneficiaireId: (f.beneficiaireId ?? '').trim().toLowerCase(),
      organisationSiret: f.organisationSiret ?? '',
      ...(f.referentEmail ? { referentEmail: f.referentEmail } : {}),
      startsOn: f.startsOn ?? '',
    }
    const answer = await kit.api(c, 'POST', '/v1/admin/assignments', body)
    if (answer.status !== 201) {
      const code = answer.json?.error?.code as string | undefined
      return kit.problem(c, answer.status === 404 ? 404 : 400, 'Affectation refusée', (code && API_MESSAGES[code]) ?? 'L’affectation n’a pas été créée.')
    }
    return c.redirect('/console/admin/affectations?message=creee', 303)
  })

  app.get('/admin/jetons', async (c) => {
    const agent = kit.agentOf(c)
    if (agent.principal.user.role !== 'admin') return adminOnly(c)
    const tokens = await listApiTokens(kit.deps.db, { activeAt: kit.now() })
    await kit.audit(c, { action: 'console.admin.tokens.list', details: { count: tokens.length } })
    const purposes = [...kit.deps.purposes.values()]
    return kit.page(
      c,
      'Jetons des logiciels partenaires',
      h`<h1>Jetons des logiciels partenaires</h1>
${c.req.query('message') === 'revoque' ? alert('success', 'Jeton révoqué') : ''}
<p>Les logiciels des partenaires appellent l’API avec un jeton lié à un agent, une organisation et une finalité. Les agents, eux, se connectent à la console par ProConnect.</p>
${table(
  'Jetons valides',
  ['N°', 'Agent', 'Organisation', 'Finalité', 'Libellé', 'Expire le', 'Dernier usage', 'Révoquer'],
  tokens.map((t) => [
    String(t.id),
    t.userEmail,
    t.organisationSiret,
    t.purpose,
    t.label ?? '—',
    day(t.expiresAt.toISOString()),
    t.lastUsedAt ? dateTime(t.lastUsedAt.toISOString()) : 'jamais',
    h`<form method="post" action="/console/admin/jetons/${t.id}/revocation">${csrfField(agent.csrfToken)}<button class="fr-btn fr-btn--sm fr-btn--tertiary" type="submit">Révoquer le jeton n° ${t.id}</button></form>`,
  ]),
  'Aucun jeton valide.',
)}
<h2 class="fr-mt-4w">Émettre un jeton</h2>
<form method="post" action="/console/admin/jetons">${csrfField(agent.csrfToken)}
<div class="fr-input-group"><label class="fr-label" for="email">Agent <span class="fr-hint-text">Adresse électronique d’un utilisateur déclaré</span></label><input class="fr-input" type="email" id="email" name="email" required></div>
<div class="fr-select-group"><label class="fr-label" for="purposeId">Finalité</label><select class="fr-select" id="purposeId" name="purposeId">${purposes.map((p) => h`<option value="${p.id}">${p.title} (${p.id})</option>`)}</select></div>
<div class="fr-select-group"><label class="fr-label" for="lifetime">Durée</label><select class="fr-select" id="lifetime" name="lifetime"><option value="30d">30 jours</option><option value="90d" selected>90 jours</option><option value="1y">1 an</option></select></div>
<div class="fr-input-group"><label class="fr-label" for="label">Libellé <span class="fr-hint-text">Le logiciel qui l’utilisera</span></label><input class="fr-input" id="label" name="label" maxlength="100"></div>
<button class="fr-btn" type="submit">Émettre</button></form>`,
      { current: '/console/admin/jetons' },
    )
  })

  app.post('/admin/jetons', async (c) => {
    const agent = kit.agentOf(c)
    if (agent.principal.user.role !== 'admin') return adminOnly(c)
    const f = await kit.form(c)
    try {
      const issued = await issueApiToken(kit.deps.db, kit.deps.purposes, { email: f.email ?? '', purposeId: f.purposeId ?? '', lifetime: f.lifetime ?? '90d', label: f.label || undefined }, kit.now())
      await kit.audit(c, { action: 'console.admin.tokens.issue', outcome: 'done', details: { tokenId: issued.id, purpose: f.purposeId } })
      return kit.page(
        c,
        'Jeton émis',
        h`<h1>Jeton émis</h1>${alert('warning', 'Copiez ce jeton maintenant', 'Il ne sera plus jamais affiché ; seule son empreinte est conservée.')}
<p><code>${issued.token}</code></p><p>Valable jusqu’au ${day(issued.expiresAt.toISOString())}.</p><p><a class="fr-link" href="/console/admin/jetons">Retour aux jetons</a></p>`,
        { current: '/console/admin/jetons' },
      )
    } catch (error) {
      if (!(error instanceof TokenIssueError)) throw error
      await kit.audit(c, { action: 'console.admin.tokens.issue', outcome: 'denied', details: { reason: 'invalid' } })
      return kit.problem(c, 400, 'Jeton refusé', 'Cet agent n’existe pas, est désactivé, ou cette finalité ne lui est pas ouverte.')
    }
  })

  app.post('/admin/jetons/:id/revocation', async (c) => {
    const agent = kit.agentOf(c)
    const id = c.req.param('id')
    if (agent.principal.user.role !== 'admin' || !/^[1-9][0-9]{0,11}$/.test(id)) return adminOnly(c)
    // The API's token cache, which trusts a valid token for a few seconds, forgets it at once.
    const revoked = await revokeApiToken(kit.deps.db, Number(id), kit.now())
    if (revoked) kit.deps.credentialChanges?.changed()
    await kit.audit(c, { action: 'console.admin.tokens.revoke', outcome: revoked ? 'done' : 'denied', details: { tokenId: Number(id), ...(revoked ? {} : { reason: 'unknown_or_revoked' }) } })
    if (!revoked) return kit.problem(c, 404, 'Jeton introuvable', 'Ce jeton n’existe pas ou est déjà révoqué.')
    return c.redirect('/console/admin/jetons?message=revoque', 303)
  })

  app.get('/admin/executions', async (c) => {
    kit.agentOf(c)
    const answer = await kit.api(c, 'GET', '/v1/admin/runs?limit=50')
    if (answer.status !== 200) return adminOnly(c)
    const counts = (o: Record<string, number>) => Object.entries(o).map(([k, v]) => `${k} : ${v}`).join(', ') || '—'
    return kit.page(
      c,
      'Traitements et imports',
      h`<h1>Traitements et imports</h1>
<h2 class="fr-mt-4w">Derniers fichiers importés</h2>
${table(
  'Fichiers importés, les plus récents d’abord',
  ['Flux', 'Fichier', 'État', 'Acceptés', 'Rejetés', 'Motif', 'Fini le'],
  (answer.json.files as any[]).map((f) => [f.flow, f.name, FILE_STATUS[f.status] ?? f.status, String(f.recordsAccepted), String(f.recordsRejected), f.reason ?? '—', dateTime(f.finishedAt)]),
  'Aucun fichier importé.',
)}
<h2 class="fr-mt-4w">Dernières exécutions</h2>
${table(
  'Exécutions des traitements planifiés',
  ['Traitement', 'Début', 'Fin', 'Résultat', 'Comptes'],
  (answer.json.jobs as any[]).map((j) => [j.job, dateTime(j.startedAt), dateTime(j.finishedAt), OUTCOMES[j.outcome] ?? j.outcome ?? 'en cours', counts(j.counts)]),
  'Aucune exécution.',
)}`,
      { current: '/console/admin/executions' },
    )
  })
}
