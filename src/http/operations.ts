/**
 * The catalogue of the API's operations as the OpenAPI document names them: a stable camelCase `operationId` (what
 * a code generator turns into a method name, so it must never change once published) and a French summary and
 * description (the documentation page is `lang="fr"`). Keyed by `METHOD /path` as the document spells the path.
 *
 * It covers every route of src/http/routes (partner API, extracts, job runs, rights requests), and
 * the operations routes of the process (/healthz, /readyz, /metrics). An operation missing here still gets an
 * operationId derived from its method and path (operationIdFor), and the tests fail until it is named here.
 */
export interface OperationDoc {
  operationId: string
  summary: string
  description?: string
}

export const OPERATIONS: Readonly<Record<string, OperationDoc>> = {
  'GET /v1/me': {
    operationId: 'getMe',
    summary: 'Pour qui parle le jeton',
    description: 'L’utilisateur, l’organisation et la finalité auxquels le jeton est lié, et les champs que cette finalité laisse sortir.',
  },
  'GET /v1/beneficiaires': {
    operationId: 'listBeneficiaires',
    summary: 'Le portefeuille de l’appelant',
    description:
      'Les personnes confiées à l’appelant (référent) ou à sa structure (responsable de structure), plus celles dont l’accompagnement a pris fin depuis moins que le délai de grâce (en lecture seule) ; pour un instructeur du département, toutes les personnes de la base active. Pagination par curseur dans un ordre stable : une personne ajoutée par un import pendant la lecture apparaît sur une page suivante, jamais deux fois. Les personnes faisant l’objet d’une limitation du traitement sont exclues. Les champs de `data` sont ceux de la finalité du jeton (schémas `Donnees_<finalité>`).',
  },
  'GET /v1/beneficiaires/{id}': {
    operationId: 'getBeneficiaire',
    summary: 'Un bénéficiaire du portefeuille',
    description: 'La fiche de la personne vue à travers la finalité du jeton : seulement les champs que la finalité déclare, sous ses noms (schémas `Donnees_<finalité>`).',
  },
  'GET /v1/beneficiaires/{id}/historique': {
    operationId: 'listBeneficiaireHistorique',
    summary: 'Historique des changements d’un bénéficiaire',
    description:
      'Les changements constatés d’un flux à l’autre (état du droit, inscription à France Travail…), du plus ancien au plus récent, limités aux champs que déclare la finalité du jeton.',
  },
  'GET /v1/admin/organisations': { operationId: 'listOrganisations', summary: 'Lister les organisations' },
  'POST /v1/admin/organisations': { operationId: 'createOrganisation', summary: 'Créer une organisation' },
  'GET /v1/admin/users': { operationId: 'listUsers', summary: 'Lister les utilisateurs' },
  'POST /v1/admin/users': { operationId: 'createUser', summary: 'Créer un utilisateur' },
  'PATCH /v1/admin/users/{id}': {
    operationId: 'updateUser',
    summary: 'Modifier un utilisateur (nom, rôle, activité)',
    description: 'Désactiver un utilisateur arrête aussitôt tous ses jetons.',
  },
  'GET /v1/admin/assignments': { operationId: 'listAssignments', summary: 'Lister les affectations' },
  'POST /v1/admin/assignments': {
    operationId: 'createAssignment',
    summary: 'Confier un bénéficiaire à une structure (et à un référent)',
    description: 'Comme une orientation : l’affectation précédente de la personne prend fin la veille du début de la nouvelle.',
  },
  'PATCH /v1/admin/assignments/{id}': { operationId: 'updateAssignment', summary: 'Clore (ou rouvrir) une affectation' },
  'GET /v1/admin/runs': { operationId: 'listRuns', summary: 'Dernières exécutions des tâches et derniers imports de fichiers', description: 'Les plus récents d’abord, avec les nombres de rejets (jamais de valeur).' },
  'GET /v1/admin/outbox': { operationId: 'listOutbox', summary: 'Messages sortants vers France Travail (orientations)', description: 'File d’envoi transactionnelle : en attente, délivrés, en échec définitif (à rejouer par `passerelle outbox retry`). Codes et identifiants seulement.' },
  'GET /v1/matching-queue': {
    operationId: 'listMatchingQueue',
    summary: 'Enregistrements France Travail à rapprocher',
    description:
      'Les enregistrements reçus sans NIR qui ne désignent aucune personne, ou plusieurs (homonymes nés le même jour) : l’identité telle que le fichier l’écrit (déchiffrée pour cette réponse seulement), les identifiants des personnes candidates. Rôles admin et dpo.',
  },
  'POST /v1/matching-queue/{id}/resolution': {
    operationId: 'resolveMatchingQueueRecord',
    summary: 'Rattacher un enregistrement à une personne, ou l’écarter',
    description:
      'Un rattachement applique l’inscription en attente à la personne et enregistre le lien avec l’identifiant France Travail : les fichiers suivants sont rapprochés par cet identifiant. L’identité en attente est effacée dans les deux cas. Journalisé.',
  },
  'GET /v1/dpo/audit-events': {
    operationId: 'searchAuditEvents',
    summary: 'Rechercher dans le journal d’audit',
    description: 'Les plus récents d’abord. Chaque filtre est facultatif ; `beneficiaireId` trouve les événements concernant une personne.',
  },
  'GET /v1/dpo/beneficiaires/{id}/acces': {
    operationId: 'listBeneficiaireAccesses',
    summary: 'Qui a consulté le dossier de cette personne',
    description: 'Toutes les requêtes auditées qui ont concerné la personne (lectures, pages de liste qui l’incluaient, refus), les plus récentes d’abord.',
  },
  'GET /v1/extracts': {
    operationId: 'listExtracts',
    summary: 'Extractions produites pour l’organisation de l’appelant',
    description: 'Statisticiens seulement. Les extractions de la finalité du jeton dont le destinataire est l’organisation de l’appelant, les plus récentes d’abord.',
  },
  'GET /v1/extracts/{id}': { operationId: 'downloadExtract', summary: 'Télécharger une extraction (CSV)', description: 'Le fichier CSV, vérifié contre son empreinte SHA-256 avant d’être servi.' },
  'GET /v1/extracts/{id}/manifest': {
    operationId: 'getExtractManifest',
    summary: 'Le manifeste d’une extraction',
    description: 'Finalité, destinataire, date de référence, nombre de lignes, k atteint, taux de suppression, niveaux de généralisation, version de clé, empreinte SHA-256.',
  },
  'POST /v1/dpo/rights-requests': {
    operationId: 'createRightsRequest',
    summary: 'Enregistrer une demande d’exercice de droits',
    description: 'Enregistre la demande avec son délai légal (un mois à compter de la réception). Une limitation s’applique aussitôt.',
  },
  'GET /v1/dpo/rights-requests': { operationId: 'listRightsRequests', summary: 'Demandes par urgence', description: 'Les demandes en retard d’abord, puis celles à échéance sous 7 jours, puis les autres.' },
  'GET /v1/dpo/rights-requests/{number}': { operationId: 'getRightsRequest', summary: 'Une demande avec toutes les actions menées' },
  'POST /v1/dpo/rights-requests/{number}/extension': {
    operationId: 'extendRightsRequest',
    summary: 'Prolonger le délai de deux mois (une fois, dans le premier mois)',
  },
  'POST /v1/dpo/rights-requests/{number}/close': { operationId: 'closeRightsRequest', summary: 'Enregistrer la réponse donnée à la personne' },
  'POST /v1/dpo/rights-requests/{number}/lift': { operationId: 'liftRightsRequestLimitation', summary: 'Lever la limitation posée par une demande' },
  'POST /v1/dpo/rights-requests/{number}/erasure': {
    operationId: 'executeRightsRequestErasure',
    summary: 'Exécuter une demande d’opposition ou d’effacement',
    description: 'Décide d’après les bases légales des finalités (un refus vient avec le motif à donner à la personne), puis efface.',
  },
  'GET /v1/dpo/rights-requests/{number}/export': {
    operationId: 'exportRightsRequestAccess',
    summary: 'La réponse à une demande d’accès (données personnelles, auditée)',
    description: 'Tout ce qui est détenu sur la personne, ce que voit chaque finalité et qui a consulté son dossier : JSON (par défaut) ou une page HTML autonome.',
  },
  'GET /v1/dpo/rights-requests/{number}/notice': {
    operationId: 'getRightsRequestNotice',
    summary: 'L’avis de rectification à l’organisme source',
    description: 'Les identifiants du dossier et les champs contestés, jamais les valeurs contestées : texte (par défaut) ou HTML (`format=html`).',
  },
  'GET /healthz': { operationId: 'getHealth', summary: 'Le processus répond', description: 'Vivacité : 200 tant que le processus sert des requêtes. Sans authentification.' },
  'GET /readyz': {
    operationId: 'getReadiness',
    summary: 'Le service est prêt',
    description: 'Disponibilité : la base répond, les migrations sont appliquées et le planificateur tourne (s’il est activé dans ce processus). 503 sinon. Sans authentification ; servi par `passerelle serve`.',
  },
  'GET /metrics': {
    operationId: 'getMetrics',
    summary: 'Métriques Prometheus',
    description: 'Format d’exposition texte de Prometheus ; les libellés sont les motifs des routes, jamais une valeur venue d’une URL. Servi par `passerelle serve`.',
  },
}

/** The operationId of `METHOD path`: the catalogue's, or one derived from the method and path (`getV1ThingsById`). */
export function operationIdFor(method: string, path: string): string {
  const known = OPERATIONS[`${method.toUpperCase()} ${path}`]
  if (known) return known.operationId
  const words = path
    .split('/')
    .filter(Boolean)
    .map((segment) => (segment.startsWith('{') ? `by-${segment.slice(1, -1)}` : segment))
    .flatMap((segment) => segment.split(/[^A-Za-z0-9]+/))
    .filter(Boolean)
  return [method.toLowerCase(), ...words.map((w) => w[0]!.toUpperCase() + w.slice(1))].join('')
}
