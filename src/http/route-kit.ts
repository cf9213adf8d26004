import type { OpenAPIHono } from '@hono/zod-openapi'
import type { Keys } from '../crypto/keys.ts'
import type { Db } from '../db/db.ts'
import type { Logger } from '../log/logger.ts'
import { purposeFields } from '../model/canonical-records.ts'
import type { CanonicalField } from '../model/fields.ts'
import type { Purpose } from '../purposes/purpose.ts'
import type { ApiEnv } from './api-context.ts'
import type { ApiOptions } from '../config/config.ts'

/** A resource's router under /v1 (resource-router.ts): authentication, rate limiting and the audit trail already apply. */
export type ApiRouter = OpenAPIHono<ApiEnv>

/** What each resource's routes get from createApp. */
export interface RouteKit {
  db: Db
  keys: Keys
  purposes: ReadonlyMap<string, Purpose>
  now: () => Date
  options: ApiOptions
  log: Logger
  /** To call after changing users, organisations or tokens: cached credentials are read again. */
  credentialsChanged(): void
  /** The catalogue fields a purpose reads (computed once per purpose). */
  fieldsOf(purpose: Purpose): readonly CanonicalField[]
}

export function purposeFieldsCache(): (purpose: Purpose) => readonly CanonicalField[] {
  const cache = new WeakMap<Purpose, readonly CanonicalField[]>()
  return (purpose) => {
    let fields = cache.get(purpose)
    if (!fields) {
      fields = purposeFields(purpose)
      cache.set(purpose, fields)
    }
    return fields
  }
}
