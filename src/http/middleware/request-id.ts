import { randomUUID } from 'node:crypto'
import { isIP } from 'node:net'
import type { MiddlewareHandler } from 'hono'
import type { ApiEnv } from '../api-context.ts'
import { classifyApiPath } from '../canonical-path.ts'
import { inProcessCaller } from './in-process-caller.ts'
import { requestHeader } from './request-header.ts'

const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/

/**
 * Names the request: its id (the client's `X-Request-Id` when well-formed, else a new one, echoed in the
 * response), the client's address (the first `X-Forwarded-For` hop only behind a trusted proxy), and whether its
 * path reads as the API's (src/http/canonical-path.ts).
 */
export function requestId(options: { trustProxy: boolean }): MiddlewareHandler<ApiEnv> {
  const clientAddress = (c: any): string | null => {
    if (options.trustProxy) {
      const forwarded = requestHeader(c, 'x-forwarded-for')?.split(',')[0]?.trim()
      if (forwarded && isIP(forwarded)) return forwarded
    }
    const address = c.env?.incoming?.socket?.remoteAddress
    return typeof address === 'string' && isIP(address) ? address : null
  }
  return async (c, next) => {
    const given = requestHeader(c, 'x-request-id')
    const id = given && REQUEST_ID.test(given) ? given : randomUUID()
    c.set('requestId', id)
    c.set('clientAddress', inProcessCaller(c)?.clientAddress ?? clientAddress(c))
    // The target as the client sent it (Node's request line), not as the URL parser rewrote it.
    const incoming = (c.env as { incoming?: { url?: string } } | undefined)?.incoming
    let apiPath = classifyApiPath(incoming?.url ?? c.req.url)
    // Belt and braces: if the parsed URL reads as the API where the raw target did not, it is not canonical.
    if (apiPath === 'other' && incoming?.url !== undefined && classifyApiPath(c.req.url) !== 'other') apiPath = 'non_canonical'
    c.set('apiPath', apiPath)
    // Set before the handler runs: every response built from this context carries it (a header added to a
    // finished response makes Hono copy the whole response).
    c.header('X-Request-Id', id)
    await next()
  }
}
