import { ErrorSchema } from '../schemas.ts'

const DESCRIPTIONS: Record<number, string> = {
  400: 'Invalid parameter or body (the message names the parameter and the rule).',
  401: 'Missing, malformed, unknown, expired or revoked token.',
  404: 'No such resource, or not one the caller may see (never 403: ids cannot be probed).',
  409: 'Conflict with an existing resource.',
  413: 'Request body too large.',
  429: 'Rate limit exceeded (see Retry-After).',
  503: 'The access could not be recorded in the audit log: nothing was served.',
}

/** The error responses a route may give, in the one error shape. */
export function errorResponses(...statuses: number[]) {
  return Object.fromEntries(
    [...new Set([...statuses, 401, 429, 503])].map((s) => [s, { description: DESCRIPTIONS[s] ?? 'Error', content: { 'application/json': { schema: ErrorSchema } } }]),
  )
}

export const json = <T>(schema: T, description: string) => ({ description, content: { 'application/json': { schema } } })
