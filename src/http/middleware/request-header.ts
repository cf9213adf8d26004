/**
 * A request header. Under @hono/node-server it is read from Node's parsed headers (names lower-case; a repeated
 * Authorization keeps the first, as Node does): going through the Fetch Request would build a Headers object for
 * every request. Elsewhere (tests through `app.request`), from the Request.
 */
export function requestHeader(c: { env?: unknown; req: { header(name: string): string | undefined } }, name: string): string | undefined {
  const incoming = (c.env as { incoming?: { headers?: Record<string, string | string[] | undefined> } } | undefined)?.incoming
  if (incoming?.headers) {
    const value = incoming.headers[name]
    return Array.isArray(value) ? value.join(', ') : value
  }
  return c.req.header(name)
}
