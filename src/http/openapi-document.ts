import type { OpenAPIHono } from '@hono/zod-openapi'
import { FIELDS_BY_ID } from '../model/fields.ts'
import { exposedName, type Purpose, type PurposeField } from '../purposes/purpose.ts'

/**
 * The OpenAPI 3.1 document: paths and schemas generated from the routes' zod schemas, plus one `Donnees_<purpose>`
 * schema per purpose served by the API, generated from the purpose declaration and the field catalogue, so
 * integrators see exactly which fields their token's purpose lets out.
 */
type JsonSchema = Record<string, unknown>

const API_ROLES = new Set(['referent', 'structure-manager'])

export function purposeDataSchema(purpose: Purpose): JsonSchema {
  const properties: Record<string, JsonSchema> = {}
  for (const f of purpose.fields) {
    if (f.transform === 'omit') continue
    const field = FIELDS_BY_ID.get(f.field)
    properties[exposedName(f)] = {
      ...valueSchema(f, field?.type),
      description: `${field?.label ?? f.field} (${f.field}${f.transform === 'keep' ? '' : `, ${f.transform}`})`,
    }
  }
  return {
    type: 'object',
    title: purpose.title,
    description: `Purpose "${purpose.id}": ${purpose.title_en}. Legal basis: GDPR ${purpose.legal_basis.gdpr}; ${purpose.legal_basis.national}`,
    properties,
    required: Object.keys(properties),
    additionalProperties: false,
  }
}

function valueSchema(f: PurposeField, type: string | undefined): JsonSchema {
  const nullable = (t: string, extra: JsonSchema = {}) => ({ type: [t, 'null'], ...extra })
  switch (f.transform) {
    case 'year':
      return nullable('integer')
    case 'age-band':
      return nullable('string', { pattern: '^\\d+-\\d+$', example: '30-39' })
    case 'postcode-to-departement':
      return nullable('string', { example: '93' })
    case 'truncate':
      return nullable('string', { maxLength: f.length })
    default:
      if (type === 'boolean') return nullable('boolean')
      if (type === 'integer') return nullable('integer')
      if (type === 'date') return nullable('string', { format: 'date' })
      if (type === 'decimal') return nullable('string', { pattern: '^-?\\d+\\.\\d{2}$', description: 'decimal as text' })
      return nullable('string')
  }
}

export function buildOpenApiDocument(app: OpenAPIHono<any>, purposes: ReadonlyMap<string, Purpose>): Record<string, any> {
  const document = app.getOpenAPI31Document({
    openapi: '3.1.0',
    info: {
      title: 'Passerelle — API partenaires',
      version: '1.0.0',
      description:
        'Partner organisations query the RSA beneficiaries they follow. A token is bound to one user, one organisation and one purpose: a referent sees only the persons assigned to them, only through the fields of the purpose, and every request is recorded in a tamper-evident audit log. Errors have one shape: {"error":{"code","message"}}.',
    },
    servers: [{ url: '/' }],
  }) as Record<string, any>
  document.components ??= {}
  document.components.schemas ??= {}
  document.components.securitySchemes = {
    bearerAuth: {
      type: 'http',
      scheme: 'bearer',
      description: 'An API token `psl_…` (passerelle tokens create). Bound to one user, organisation and purpose; it expires and can be revoked.',
    },
  }
  const served = [...purposes.values()].filter((p) => p.recipients.some((r) => API_ROLES.has(r.role))).sort((a, b) => a.id.localeCompare(b.id))
  for (const purpose of served) document.components.schemas[`Donnees_${purpose.id}`] = purposeDataSchema(purpose)
  if (served.length > 0) {
    document.components.schemas.BeneficiaireData = {
      description: 'The fields of the token’s purpose only, under the names it declares: one of the Donnees_<purpose> schemas.',
      oneOf: served.map((p) => ({ $ref: `#/components/schemas/Donnees_${p.id}` })),
    }
  }
  return document
}
