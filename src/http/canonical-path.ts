import { posix } from 'node:path'

/**
 * Whether a request target belongs to the API, and whether it is in canonical form. The API answers only canonical
 * paths: `/v1` in lower case, single slashes, no trailing slash, no percent-encoding, no dot segment. Anything else
 * that would read as an API path once decoded, collapsed and lower-cased (`//v1/me`, `/V1/me`, `/v1%2Fme`,
 * `/v1/me/`, `/v1/./me`) is refused and audited, rather than falling through to no handler.
 *
 * - `canonical`: under /v1, in canonical form;
 * - `non_canonical`: would read as under /v1, but is not in canonical form;
 * - `other`: not an API path (/healthz, /metrics, /docs...).
 */
export type ApiPathKind = 'canonical' | 'non_canonical' | 'other'

const CANONICAL = /^\/v1(?:\/[A-Za-z0-9_~-][A-Za-z0-9._~-]*)*$/

/** The path part of a request target (origin-form `/a/b?q` or absolute-form `http://host/a/b?q`). */
export function targetPath(target: string): string {
  let path = target
  if (!path.startsWith('/') && !path.startsWith('\\')) {
    const scheme = path.indexOf('://')
    const slash = scheme === -1 ? -1 : path.indexOf('/', scheme + 3)
    path = slash === -1 ? '/' : path.slice(slash)
  }
  const end = path.search(/[?#]/)
  return end === -1 ? path : path.slice(0, end)
}

function decodeLoosely(path: string): string {
  let decoded = path
  // Twice: a double-encoded slash (%252F) reads as a slash to some proxies.
  for (let i = 0; i < 2 && decoded.includes('%'); i++) {
    decoded = decoded.replace(/%([0-9a-f]{2})/gi, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)))
  }
  return decoded
}

export function classifyApiPath(target: string): ApiPathKind {
  const path = targetPath(target)
  if (CANONICAL.test(path)) return 'canonical'
  // As written, decoded, and with dot segments resolved: a path that reads as /v1 in any of them is the API's.
  const decoded = decodeLoosely(path)
  const readings = [path, decoded, posix.normalize(decoded.replace(/\\/g, '/'))]
  return readings.some((r) => r.replace(/[\\/]+/g, '/').toLowerCase().startsWith('/v1')) ? 'non_canonical' : 'other'
}
