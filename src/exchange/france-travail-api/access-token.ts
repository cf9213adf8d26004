import type { FranceTravailApiSource } from './api-flow.ts'

export class FranceTravailTokenError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'FranceTravailTokenError'
  }
}

/**
 * The OAuth2 client-credentials access token of one API flow (WebRSA's getTokenFT: a form POST of grant_type,
 * client_id, client_secret and scope; the answer's access_token and expires_in). Cached and renewed before it
 * expires (a tenth of its life, at most a minute, ahead), one request at a time; `invalidate` after a 401.
 */
export class AccessTokenCache {
  private token: { value: string; renewAt: number } | undefined
  private pending: Promise<string> | undefined

  constructor(
    private readonly source: Pick<FranceTravailApiSource, 'token_url' | 'client_id' | 'scopes' | 'timeout_ms'>,
    private readonly secret: string,
    private readonly now: () => number = Date.now,
  ) {}

  async get(signal?: AbortSignal): Promise<string> {
    if (this.token && this.now() < this.token.renewAt) return this.token.value
    this.pending ??= this.fetchToken(signal).finally(() => {
      this.pending = undefined
    })
    return this.pending
  }

  invalidate(rejected: string): void {
    if (this.token?.value === rejected) this.token = undefined
  }

  private async fetchToken(signal?: AbortSignal): Promise<string> {
    const body = new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: this.source.client_id,
      client_secret: this.secret,
      scope: this.source.scopes.join(' '),
    })
    const timeout = AbortSignal.timeout(this.source.timeout_ms)
    let response: Response
    try {
      response = await fetch(this.source.token_url, {
        method: 'POST',
        // Never followed: the body holds the client secret (a 3xx is refused below like any answer but 200).
        redirect: 'manual',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body,
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      })
    } catch (error) {
      throw new FranceTravailTokenError(`france travail token endpoint unreachable (${(error as Error).name})`, { cause: error })
    }
    if (response.status !== 200) {
      await response.body?.cancel()
      throw new FranceTravailTokenError(`france travail token endpoint answered ${response.status}: check the client id, the secret variable and the scopes`)
    }
    const json = (await response.json()) as { access_token?: unknown; expires_in?: unknown }
    if (typeof json.access_token !== 'string' || typeof json.expires_in !== 'number' || json.expires_in <= 0) {
      throw new FranceTravailTokenError('france travail token endpoint answered without access_token / expires_in')
    }
    const lifeMs = json.expires_in * 1000
    this.token = { value: json.access_token, renewAt: this.now() + lifeMs - Math.min(60_000, lifeMs / 10) }
    return json.access_token
  }
}
