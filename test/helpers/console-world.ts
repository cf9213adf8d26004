import { serve, type ServerType } from '@hono/node-server'
import type { AuditEventInput } from '../../src/audit/chain.ts'
import { AuditWriter } from '../../src/audit/audit-log.ts'
import { createConsoleApp } from '../../src/console/console-app.ts'
import { loadDeclarations } from '../../src/declarations/load-declarations.ts'
import { startLocalOidcProvider, type LocalOidcProvider } from '../../src/console/local-oidc-provider.ts'
import { createOidcClient } from '../../src/console/oidc-client.ts'
import type { Keys } from '../../src/crypto/keys.ts'
import type { Db } from '../../src/db/db.ts'
import type { ApiApp } from '../../src/http/app.ts'
import type { Logger } from '../../src/log/logger.ts'
import type { Purpose } from '../../src/purposes/purpose.ts'
import { WORLD_NOW, worldApp, type World } from './api-seed.ts'

/**
 * The API world (buildWorld) behind the web console, served over HTTP on loopback, with the local OpenID Connect
 * provider knowing every world user as an agent (and their organisation's SIRET). `signIn(email)` walks the
 * authorization-code flow as a browser would, without one, and returns the console's session cookie.
 */
export interface ConsoleWorld {
  url: string
  api: ApiApp
  provider: LocalOidcProvider
  /** The console's session cookie (`name=value`) after signing in as this e-mail through the local provider. */
  signIn(email: string): Promise<{ cookie: string; location: string }>
  close(): Promise<void>
}

class Jar {
  readonly cookies = new Map<string, string>()
  take(response: Response): void {
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(';')
      const eq = pair!.indexOf('=')
      const name = pair!.slice(0, eq).trim()
      const value = pair!.slice(eq + 1).trim()
      if (value === '' || /max-age=0/i.test(line) || /expires=thu, 01 jan 1970/i.test(line)) this.cookies.delete(name)
      else this.cookies.set(name, value)
    }
  }
  header(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ')
  }
}

export async function startConsoleWorld(
  db: Db,
  keys: Keys,
  purposes: ReadonlyMap<string, Purpose>,
  world: World,
  options: { now?: () => Date; log?: Logger; onAudit?: (event: AuditEventInput) => void } = {},
): Promise<ConsoleWorld> {
  const now = options.now ?? (() => WORLD_NOW)
  const writer = new AuditWriter(db)
  const audit = {
    append(event: AuditEventInput) {
      options.onAudit?.(event)
      return writer.append(event)
    },
  }
  // The same API `serve` mounts (every resource, rights and runs included).
  const api = worldApp(db, keys, purposes, { now, log: options.log })
  let oidc: ReturnType<typeof createOidcClient> | undefined
  api.route('/console', createConsoleApp({ db, keys, purposes, audit, log: options.log ?? (await import('../../src/log/logger.ts')).createLogger(), now, api, oidc: () => oidc, sessionMinutes: 60, register: { declarations: loadDeclarations({ flowsDir: 'flows', mappingsDir: 'mappings' }), config: { databaseUrl: undefined, keys: {} } } }))
  const server = await new Promise<ServerType>((resolve) => {
    const s = serve({ fetch: api.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s))
  })
  const address = server.address()
  const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`
  const { rows } = await db.query<{ email: string; display_name: string; siret: string }>(
    'select u.email, u.display_name, o.siret from users u join organisations o on o.id = u.organisation_id order by u.id',
  )
  const provider = await startLocalOidcProvider({
    agents: rows.map((r) => ({ email: r.email, givenName: r.display_name, usualName: 'Test', siret: r.siret, label: r.display_name })),
    redirectUris: [`${url}/console/auth/callback`],
    postLogoutUris: [`${url}/console`],
  })
  oidc = createOidcClient(provider.settings(`${url}/console/auth/callback`, `${url}/console`))

  async function signIn(email: string): Promise<{ cookie: string; location: string }> {
    const site = new Jar()
    const idp = new Jar()
    let response = await fetch(`${url}/console/connexion`, { redirect: 'manual' })
    site.take(response)
    let location = new URL(response.headers.get('location')!, url)
    // Through the provider until its sign-in page.
    for (let hops = 0; hops < 10 && !location.pathname.startsWith('/interaction/'); hops++) {
      response = await fetch(location, { redirect: 'manual', headers: { cookie: idp.header() } })
      idp.take(response)
      location = new URL(response.headers.get('location')!, location)
    }
    response = await fetch(location, { method: 'POST', redirect: 'manual', headers: { cookie: idp.header(), 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ login: email }) })
    idp.take(response)
    location = new URL(response.headers.get('location')!, location)
    for (let hops = 0; hops < 10 && location.origin !== url; hops++) {
      response = await fetch(location, { redirect: 'manual', headers: { cookie: idp.header() } })
      idp.take(response)
      location = new URL(response.headers.get('location')!, location)
    }
    response = await fetch(location, { redirect: 'manual', headers: { cookie: site.header() } })
    site.take(response)
    const session = site.cookies.get('passerelle_console')
    return { cookie: session ? `passerelle_console=${session}` : '', location: response.headers.get('location') ?? '' }
  }

  return {
    url,
    api,
    provider,
    signIn,
    async close() {
      await provider.close()
      ;(server as import("node:http").Server).closeAllConnections?.()
      await new Promise<void>((resolve) => server.close(() => resolve()))
      await writer.drain()
    },
  }
}
