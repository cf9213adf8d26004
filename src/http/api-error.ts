import type { ContentfulStatusCode } from 'hono/utils/http-status'

/**
 * The one error shape of the API: `{ "error": { "code": "not_found", "message": "..." } }`. Messages never carry a
 * personal value, a stack trace or SQL. `auditReason` is what the audit event records (the caller sees only the
 * code): a person outside the portfolio and an unknown id both answer 404 `not_found`.
 */
/**
 * Every `error.code` the API answers with (documented as an enum in the `Error` schema; a test checks that each
 * code the source can throw is listed).
 */
export const ERROR_CODES = [
  'invalid_parameters',
  'invalid_path',
  'invalid_cursor',
  'invalid_request',
  'invalid_siret',
  'filter_not_allowed',
  'unknown_field',
  'end_before_start',
  'referent_not_in_structure',
  'referent_role',
  'unknown_beneficiaire',
  'unknown_organisation',
  'unknown_referent',
  'bad_request',
  'unauthorized',
  'not_found',
  'conflict',
  'payload_too_large',
  'unsupported_media_type',
  'rate_limited',
  'client_closed',
  'internal_error',
  'extract_altered',
  'audit_unavailable',
  'error',
] as const

export type ErrorCode = (typeof ERROR_CODES)[number]

export class ApiError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: string,
    message: string,
    readonly auditReason?: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message)
    this.name = 'ApiError'
  }
}

export function errorBody(code: string, message: string): { error: { code: string; message: string } } {
  return { error: { code, message } }
}

/** 404 whatever the reason: unknown id, outside the portfolio, limited, a role without access to the route. */
export function notFound(auditReason: string): ApiError {
  return new ApiError(404, 'not_found', 'no such resource', auditReason)
}

export function badRequest(code: string, message: string): ApiError {
  return new ApiError(400, code, message, code)
}
