import type { MiddlewareHandler } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import type { ApiEnv } from '../api-context.ts'
import { ApiError } from '../api-error.ts'

/** Refuses (413) a request body over `maxBytes`. GET and HEAD are let through unread: no route reads their body. */
export function apiBodyLimit(maxBytes: number): MiddlewareHandler<ApiEnv> {
  const limit = bodyLimit({
    maxSize: maxBytes,
    onError: () => {
      throw new ApiError(413, 'payload_too_large', `the request body exceeds ${maxBytes} bytes`, 'payload_too_large')
    },
  })
  // Asking for a body would build a full Fetch Request per call.
  return (c, next) => (c.req.method === 'GET' || c.req.method === 'HEAD' ? next() : limit(c, next))
}
