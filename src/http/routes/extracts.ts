import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { createRoute, z } from '@hono/zod-openapi'
import { ApiError, notFound } from '../api-error.ts'
import { audit, auditAs, type ApiContext, principalOf } from '../api-context.ts'
import { resourceRouter } from '../resource-router.ts'
import type { ApiRouter, RouteKit } from '../route-kit.ts'
import { errorResponses, json } from './responses.ts'
import { IdParam } from '../schemas.ts'
import type { Principal } from '../../auth/principal.ts'
import { readStatistics } from '../../statistics/declaration.ts'
import { findExtract, listExtracts, type ExtractRecord } from '../../statistics/queries.ts'

/**
 * Statistical extracts over the partner API, for statisticians: `GET /v1/extracts` lists the extracts of the
 * token's purpose made for the recipients of the caller's organisation (the recipient's declared `organisation`
 * SIRET); `GET /v1/extracts/{id}` downloads the CSV, `GET /v1/extracts/{id}/manifest` its manifest. The file is
 * served only if it still matches the SHA-256 recorded when it was written. Anything else answers 404.
 */
const TAG = 'Extraits statistiques'
const security = [{ bearerAuth: [] }]

const ExtractSchema = z
  .object({
    id: z.uuid(),
    kind: z.enum(['microdata', 'aggregate']),
    purpose: z.string(),
    recipient: z.string(),
    aggregate: z.string().nullable().openapi({ description: 'The aggregate table, for an aggregate extract.' }),
    asOf: z.string().openapi({ description: 'Reference date (YYYY-MM-DD).' }),
    createdAt: z.string(),
    deliveredAt: z.string().nullable().openapi({ description: 'When it was pushed to the recipient’s SFTP server.' }),
    rows: z.number().int(),
    bytes: z.number().int(),
    sha256: z.string().openapi({ description: 'SHA-256 of the CSV file.' }),
    k: z.number().int().nullable(),
    kReached: z.number().int().nullable(),
    suppressionRate: z.number().nullable(),
    generalisation: z.record(z.string(), z.string()),
    keyVersion: z.number().int().nullable().openapi({ description: 'Version of the recipient’s pseudonym key.' }),
  })
  .openapi('Extract')

const ExtractListSchema = z.object({ data: z.array(ExtractSchema) }).openapi('ExtractList')

const listRoute = createRoute({
  middleware: [auditAs('extract.list')] as const,
  method: 'get',
  path: '/extracts',
  tags: [TAG],
  security,
  summary: 'Extracts made for the caller’s organisation',
  description: 'Statisticians only. The extracts of the token’s purpose whose recipient is the caller’s organisation, newest first.',
  responses: { 200: json(ExtractListSchema, 'The extracts'), ...errorResponses(404) },
})

const downloadRoute = createRoute({
  middleware: [auditAs('extract.download')] as const,
  method: 'get',
  path: '/extracts/{id}',
  tags: [TAG],
  security,
  summary: 'Download an extract (CSV)',
  description:
    'The CSV file (UTF-8, header line). Its SHA-256 is in the `X-Content-SHA256` header and in the manifest; the file is served only if it still matches the digest recorded when it was written. Every download is audited.',
  request: { params: IdParam },
  responses: {
    200: { description: 'The CSV file', content: { 'text/csv': { schema: z.string() } } },
    ...errorResponses(400, 404),
  },
})

const manifestRoute = createRoute({
  middleware: [auditAs('extract.manifest.read')] as const,
  method: 'get',
  path: '/extracts/{id}/manifest',
  tags: [TAG],
  security,
  summary: 'The manifest of an extract',
  description: 'Purpose, recipient, reference date, rows, k reached, suppression rate, generalisation levels, key version, SHA-256 of the CSV.',
  request: { params: IdParam },
  responses: { 200: json(z.record(z.string(), z.unknown()).openapi('ExtractManifest'), 'The manifest'), ...errorResponses(400, 404) },
})

/** The recipients of the token's purpose whose statisticians belong to the caller's organisation. */
function recipientsOf(principal: Principal): string[] {
  const { statistics } = readStatistics(principal.purpose)
  if (!statistics) return []
  return statistics.recipients.filter((r) => r.organisation !== undefined && r.organisation === principal.organisation.siret).map((r) => r.id)
}

function summary(e: ExtractRecord): z.infer<typeof ExtractSchema> {
  return {
    id: e.publicId,
    kind: e.kind,
    purpose: e.purpose,
    recipient: e.recipient,
    aggregate: e.aggregate,
    asOf: e.asOf,
    createdAt: e.createdAt.toISOString(),
    deliveredAt: e.deliveredAt?.toISOString() ?? null,
    rows: e.rows,
    bytes: e.bytes,
    sha256: e.sha256,
    k: e.k,
    kReached: e.kReached,
    suppressionRate: e.suppressionRate,
    generalisation: e.generalisation,
    keyVersion: e.keyVersion,
  }
}

async function extractForCaller(c: ApiContext, kit: RouteKit, id: string): Promise<ExtractRecord> {
  const principal = principalOf(c)
  const extract = await findExtract(kit.db, id)
  if (!extract) throw notFound('unknown_extract')
  if (extract.purpose !== principal.purpose.id || !recipientsOf(principal).includes(extract.recipient)) throw notFound('not_a_recipient')
  return extract
}

async function readVerified(kit: RouteKit, extract: ExtractRecord): Promise<Buffer> {
  let data: Buffer
  try {
    data = await readFile(extract.filePath)
  } catch (error) {
    kit.log.error({ extractId: extract.publicId, err: error }, 'extract file missing')
    throw new ApiError(404, 'not_found', 'no such resource', 'extract_file_missing')
  }
  if (createHash('sha256').update(data).digest('hex') !== extract.sha256) {
    kit.log.error({ extractId: extract.publicId }, 'extract file does not match its recorded sha256: not served')
    throw new ApiError(500, 'extract_altered', 'the extract file no longer matches its recorded digest; nothing was served', 'extract_altered')
  }
  return data
}

export function extractRoutes(kit: RouteKit): ApiRouter {
  const router = resourceRouter(['statistician'])
  router.openapi(listRoute, async (c) => {
    const principal = principalOf(c)
    const recipients = recipientsOf(principal)
    const extracts = recipients.length > 0 ? await listExtracts(kit.db, principal.purpose.id, recipients) : []
    audit(c, { details: { count: extracts.length } })
    return c.json({ data: extracts.map(summary) }, 200)
  })

  router.openapi(downloadRoute, async (c) => {
    const extract = await extractForCaller(c, kit, c.req.valid('param').id)
    const data = await readVerified(kit, extract)
    audit(c, { details: { extractId: extract.publicId, recipient: extract.recipient, kind: extract.kind, rows: extract.rows, sha256: extract.sha256 } })
    return c.body(new Uint8Array(data), 200, {
      'Content-Type': 'text/csv; charset=utf-8',
      'Content-Disposition': `attachment; filename="${path.basename(extract.filePath)}"`,
      'X-Content-SHA256': extract.sha256,
    })
  })

  router.openapi(manifestRoute, async (c) => {
    const extract = await extractForCaller(c, kit, c.req.valid('param').id)
    let manifest: Record<string, unknown>
    try {
      manifest = JSON.parse(await readFile(extract.manifestPath, 'utf8')) as Record<string, unknown>
    } catch (error) {
      kit.log.error({ extractId: extract.publicId, err: error }, 'extract manifest missing')
      throw new ApiError(404, 'not_found', 'no such resource', 'extract_manifest_missing')
    }
    audit(c, { details: { extractId: extract.publicId, recipient: extract.recipient } })
    return c.json(manifest, 200)
  })
  return router
}
