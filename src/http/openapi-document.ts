import type { OpenAPIHono } from '@hono/zod-openapi'
import { portfolioRelation } from '../access/portfolio.ts'
import { codeListOf, ENFORCED_CODE_LISTS, fieldCodes } from '../labels/code-labels.ts'
import { exposedLabel } from '../labels/field-labels.ts'
import { FIELDS_BY_ID } from '../model/fields.ts'
import { exposedName, type Purpose, type PurposeField } from '../purposes/purpose.ts'
import { OPERATIONS, operationIdFor } from './operations.ts'

/**
 * The OpenAPI 3.1 document: paths and schemas generated from the routes' zod schemas, then completed here:
 * - one `Donnees_<purpose>` schema per purpose a portfolio role (referent, structure manager, instructor) may hold,
 *   generated from the purpose declaration and the field catalogue, and `Beneficiaire.data` as a `oneOf` of them;
 * - an operationId and a French summary per operation (src/http/operations.ts), response examples per purpose;
 * - `Retry-After` on every 429, every error response pointing at the one `Error` schema;
 * - the process's operations routes (/healthz, /readyz, /metrics).
 *
 * Why `oneOf` of closed, fully-required schemas rather than one schema with every field optional: a token is bound
 * to one purpose, so a partner knows which shape they get and picks it by name (`Donnees_instruction`), keeping
 * the exact required fields and their types; generators turn the `oneOf` into a union type
 * (openapi-typescript: `A | B | C`). One all-optional schema would lose which fields come together.
 */
type JsonSchema = Record<string, unknown>

/** The roles that read beneficiaries through /v1/beneficiaires (a portfolio). */
const portfolioRole = (role: string) => portfolioRelation(role as never) !== undefined

export function purposeDataSchema(purpose: Purpose): JsonSchema {
  const properties: Record<string, JsonSchema> = {}
  for (const f of purpose.fields) {
    if (f.transform === 'omit') continue
    const field = FIELDS_BY_ID.get(f.field)
    const value = valueSchema(f, field?.type)
    const codes = f.transform === 'keep' ? fieldCodes(f.field) : []
    const codeText = codes.length > 0 ? ` Codes ${codeListOf(f.field)} : ${codes.map((c) => `${c.code} = ${c.label}`).join(' ; ')}.` : ''
    properties[exposedName(f)] = {
      ...value,
      description: `${exposedLabel(f.field, f.transform, f.length)} (champ \`${f.field}\`${f.transform === 'keep' ? '' : `, transformation ${f.transform}`}).${codeText}`,
    }
  }
  return {
    type: 'object',
    title: `Donnees_${purpose.id}`,
    description: `Finalité « ${purpose.id} » : ${purpose.title}. Base légale : RGPD ${purpose.legal_basis.gdpr} ; ${purpose.legal_basis.national}. Destinataires : ${[
      ...new Set(purpose.recipients.map((r) => r.role)),
    ].join(', ')}.`,
    properties,
    required: Object.keys(properties),
    additionalProperties: false,
    examples: [purposeExample(purpose)],
  }
}

function valueSchema(f: PurposeField, type: string | undefined): JsonSchema {
  const nullable = (t: string, extra: JsonSchema = {}) => ({ type: [t, 'null'], ...extra })
  switch (f.transform) {
    case 'year':
      return nullable('integer')
    case 'age-band':
      return nullable('string', { pattern: '^\\d+-\\d+$' })
    case 'postcode-to-departement':
      return nullable('string', { pattern: '^(\\d{2,3}|2[AB])$' })
    case 'truncate':
      return nullable('string', { maxLength: f.length })
    default: {
      if (type === 'boolean') return nullable('boolean')
      if (type === 'integer') return nullable('integer')
      if (type === 'date') return nullable('string', { format: 'date' })
      if (type === 'decimal') return nullable('string', { pattern: '^-?\\d+\\.\\d{2}$' })
      const list = type === 'code' ? codeListOf(f.field) : undefined
      const enforced = list ? ENFORCED_CODE_LISTS[list] : undefined
      if (enforced) return { type: ['string', 'null'], enum: [...enforced, null] }
      return nullable('string')
    }
  }
}

/** A synthetic value of a field, obviously not a person's (for the documentation's examples). */
function exampleValue(f: PurposeField, type: string | undefined): unknown {
  switch (f.transform) {
    case 'year':
      return 1900
    case 'age-band':
      return `30-${29 + (f.length ?? 10)}`
    case 'postcode-to-departement':
      return '99'
    case 'truncate':
      return 'EXEMPLE'.slice(0, f.length)
    default: {
      if (type === 'boolean') return true
      if (type === 'integer') return 1
      if (type === 'date') return '1900-01-01'
      if (type === 'decimal') return '123.45'
      // 1 99 99 99 999 999 + key 99: no département 99, no commune 999 — plainly fictitious.
      if (type === 'nir') return '199999999999999'
      const list = type === 'code' ? codeListOf(f.field) : undefined
      const enforced = list ? ENFORCED_CODE_LISTS[list] : undefined
      if (enforced) return enforced[0]
      return 'EXEMPLE'
    }
  }
}

export function purposeExample(purpose: Purpose): Record<string, unknown> {
  const example: Record<string, unknown> = {}
  for (const f of purpose.fields) if (f.transform !== 'omit') example[exposedName(f)] = exampleValue(f, FIELDS_BY_ID.get(f.field)?.type)
  return example
}

const ERROR_REF = { $ref: '#/components/schemas/Error' }
const HTTP_METHODS = new Set(['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'])

const TAGS = [
  { name: 'Appelant', description: 'Ce que le jeton permet.' },
  { name: 'Bénéficiaires', description: 'Le portefeuille de l’appelant, vu à travers la finalité de son jeton.' },
  { name: 'Extractions', description: 'Extractions statistiques pseudonymisées.' },
  { name: 'DPO', description: 'Journal d’audit et demandes d’exercice des droits (délégué à la protection des données).' },
  { name: 'Administration', description: 'Organisations, utilisateurs, affectations, exécutions.' },
  { name: 'Exploitation', description: 'Santé du service et métriques, sans authentification.' },
]

const RETRY_AFTER = {
  description: 'Nombre de secondes à attendre avant de réessayer.',
  schema: { type: 'integer', minimum: 1 },
  example: 2,
}

/** The routes the app serves outside /v1 (no token): /healthz, /readyz and /metrics. */
function operationsPaths(): Record<string, unknown> {
  const text = (description: string) => ({ description, content: { 'text/plain': { schema: { type: 'string' } } } })
  const ready = {
    type: 'object',
    properties: {
      ready: { type: 'boolean' },
      checks: {
        type: 'object',
        properties: {
          database: { type: 'boolean', description: 'La base répond.' },
          migrations: { type: 'boolean', description: 'Toutes les migrations sont appliquées.' },
          scheduler: { type: ['boolean', 'null'], description: 'Le planificateur tourne ; null s’il n’est pas lancé dans ce processus.' },
        },
        required: ['database', 'migrations', 'scheduler'],
      },
    },
    required: ['ready', 'checks'],
  }
  return {
    '/healthz': {
      get: {
        tags: ['Exploitation'],
        security: [],
        responses: {
          200: {
            description: 'Le processus répond.',
            content: { 'application/json': { schema: { type: 'object', properties: { status: { type: 'string', enum: ['ok'] } }, required: ['status'] }, example: { status: 'ok' } } },
          },
        },
      },
    },
    '/readyz': {
      get: {
        tags: ['Exploitation'],
        security: [],
        responses: {
          200: { description: 'Prêt.', content: { 'application/json': { schema: ready, example: { ready: true, checks: { database: true, migrations: true, scheduler: true } } } } },
          503: {
            description: 'Pas prêt : la cause est dans les journaux du serveur, jamais dans la réponse.',
            content: { 'application/json': { schema: ready, example: { ready: false, checks: { database: true, migrations: false, scheduler: null } } } },
          },
        },
      },
    },
    '/metrics': {
      get: {
        tags: ['Exploitation'],
        security: [],
        responses: { 200: text('Métriques au format d’exposition texte de Prometheus.') },
      },
    },
  }
}

export function buildOpenApiDocument(app: OpenAPIHono<any>, purposes: ReadonlyMap<string, Purpose>): Record<string, any> {
  const document = app.getOpenAPI31Document({
    openapi: '3.1.0',
    info: {
      title: 'Passerelle — API partenaires',
      version: '1.0.0',
      description: [
        'Les organisations partenaires consultent les bénéficiaires du RSA qu’elles accompagnent. Un jeton est lié à un utilisateur, une organisation et une finalité : un référent ne voit que les personnes qui lui sont confiées, seulement à travers les champs de la finalité, et chaque requête est inscrite dans un journal d’audit infalsifiable.',
        '',
        'Les erreurs ont une seule forme : `{"error":{"code","message"}}` (schéma `Error`, codes énumérés). Une ressource qu’on ne peut pas voir répond 404, jamais 403. Au-delà du débit permis, la réponse est 429 avec l’en-tête `Retry-After`.',
        '',
        'Les champs de `data` dépendent de la finalité du jeton : un schéma `Donnees_<finalité>` par finalité. Les exemples sont fictifs.',
      ].join('\n'),
    },
    servers: [{ url: '/', description: 'Ce serveur' }],
  }) as Record<string, any>
  document.info.license = { name: 'EUPL-1.2', identifier: 'EUPL-1.2' }
  document.tags = TAGS
  document.components ??= {}
  document.components.schemas ??= {}
  document.components.securitySchemes = {
    bearerAuth: {
      type: 'http',
      scheme: 'bearer',
      description: 'Un jeton d’API `psl_…` (`passerelle tokens create`), lié à un utilisateur, une organisation et une finalité ; il expire et peut être révoqué.',
    },
  }
  document.paths = { ...document.paths, ...operationsPaths() }

  const served = [...purposes.values()].filter((p) => p.recipients.some((r) => portfolioRole(r.role))).sort((a, b) => a.id.localeCompare(b.id))
  for (const purpose of served) document.components.schemas[`Donnees_${purpose.id}`] = purposeDataSchema(purpose)
  const dataSchema = document.components.schemas.BeneficiaireData as JsonSchema | undefined
  if (dataSchema && served.length > 0) {
    document.components.schemas.BeneficiaireData = {
      description:
        'Les champs de la finalité du jeton seulement, sous les noms qu’elle déclare : l’un des schémas `Donnees_<finalité>` (un jeton est lié à une seule finalité ; choisissez le schéma de la vôtre).',
      oneOf: served.map((p) => ({ $ref: `#/components/schemas/Donnees_${p.id}` })),
    }
  }

  for (const [path, item] of Object.entries(document.paths as Record<string, Record<string, any>>)) {
    for (const [method, operation] of Object.entries(item)) {
      if (!HTTP_METHODS.has(method)) continue
      const known = OPERATIONS[`${method.toUpperCase()} ${path}`]
      operation.operationId = operationIdFor(method, path)
      if (known) {
        operation.summary = known.summary
        if (known.description) operation.description = known.description
        else delete operation.description
      }
      const roles: string[] | undefined = operation['x-roles']
      if (roles) operation.description = `${operation.description ? `${operation.description}\n\n` : ''}Rôles : ${roles.join(', ')}.`
      for (const [status, response] of Object.entries(operation.responses as Record<string, any>)) {
        if (Number(status) < 400 || path === '/readyz') continue
        response.content = { 'application/json': { schema: ERROR_REF } }
        if (status === '429') response.headers = { 'Retry-After': RETRY_AFTER }
      }
    }
  }
  addBeneficiaireExamples(document, served)
  return document
}

/** Named examples of the beneficiary responses, one per purpose (synthetic values). */
function addBeneficiaireExamples(document: Record<string, any>, served: readonly Purpose[]): void {
  const one = (purpose: Purpose) => ({
    id: '00000000-0000-4000-8000-000000000001',
    updatedAt: '2000-01-01T00:00:00.000Z',
    access: purpose.recipients.some((r) => r.role === 'instructor')
      ? { via: 'departement', mode: 'current', readOnly: false, until: null }
      : { via: 'referent', mode: 'current', readOnly: false, until: null },
    data: purposeExample(purpose),
  })
  const examples = (wrap: (item: unknown) => unknown) =>
    Object.fromEntries(served.map((p) => [p.id, { summary: `Finalité ${p.id} (valeurs fictives)`, value: wrap(one(p)) }]))
  const media = (path: string) => document.paths?.[path]?.get?.responses?.['200']?.content?.['application/json']
  const list = media('/v1/beneficiaires')
  if (list && served.length > 0) list.examples = examples((item) => ({ items: [item], nextCursor: null }))
  const single = media('/v1/beneficiaires/{id}')
  if (single && served.length > 0) single.examples = examples((item) => item)
}
