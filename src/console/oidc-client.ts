import * as client from 'openid-client'
import type { OidcSettings } from '../config/config.ts'

/**
 * The console's OpenID Connect relying party (ProConnect in production): authorization code with PKCE (S256), state
 * and nonce; the identity read from the ID token and the UserInfo answer (e-mail, `sub`, `acr`, `amr`, SIRET).
 * Discovery runs once, at the first sign-in; a failed discovery is tried again at the next.
 */
export interface OidcIdentity {
  subject: string
  email: string | undefined
  siret: string | undefined
  acr: string | undefined
  amr: string[]
  idToken: string | undefined
}

export interface OidcClient {
  settings: OidcSettings
  /** Where to send the browser, and what to keep server-side until it comes back. */
  startSignIn(): Promise<{ url: URL; state: string; nonce: string; codeVerifier: string }>
  /** Exchanges the code of the callback URL; throws when the answer does not check out (state, nonce, signature...). */
  finishSignIn(callbackUrl: URL, expected: { state: string; nonce: string; codeVerifier: string }): Promise<OidcIdentity>
  /** The provider's end-session URL (RP-initiated logout), if it has one. */
  endSessionUrl(idToken: string | null, postLogoutUrl: string): Promise<URL | undefined>
}

const isLoopback = (url: string) => ['127.0.0.1', 'localhost', '[::1]'].includes(new URL(url).hostname)

export function createOidcClient(settings: OidcSettings): OidcClient {
  let configuration: Promise<client.Configuration> | undefined
  const configured = () => {
    configuration ??= client
      .discovery(
        new URL(settings.issuer),
        settings.clientId,
        settings.userinfoSignedAlg ? { userinfo_signed_response_alg: settings.userinfoSignedAlg } : undefined,
        client.ClientSecretPost(settings.clientSecret),
        // http only for a provider on loopback (the local demo provider); the settings refuse it elsewhere.
        isLoopback(settings.issuer) && settings.issuer.startsWith('http:') ? { execute: [client.allowInsecureRequests] } : undefined,
      )
      .catch((error: unknown) => {
        configuration = undefined
        throw error
      })
    return configuration
  }

  return {
    settings,
    async startSignIn() {
      const config = await configured()
      const codeVerifier = client.randomPKCECodeVerifier()
      const state = client.randomState()
      const nonce = client.randomNonce()
      const parameters: Record<string, string> = {
        redirect_uri: settings.redirectUrl,
        scope: settings.scopes,
        response_type: 'code',
        code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
        code_challenge_method: 'S256',
        state,
        nonce,
      }
      if (settings.acrValues) parameters.acr_values = settings.acrValues
      return { url: client.buildAuthorizationUrl(config, parameters), state, nonce, codeVerifier }
    },
    async finishSignIn(callbackUrl, expected) {
      const config = await configured()
      const tokens = await client.authorizationCodeGrant(config, callbackUrl, {
        pkceCodeVerifier: expected.codeVerifier,
        expectedState: expected.state,
        expectedNonce: expected.nonce,
        idTokenExpected: true,
      })
      const claims = tokens.claims()
      if (!claims) throw new Error('the provider returned no ID token')
      const userinfo = await client.fetchUserInfo(config, tokens.access_token, claims.sub)
      const text = (value: unknown) => (typeof value === 'string' && value.length > 0 ? value : undefined)
      return {
        subject: claims.sub,
        email: text(userinfo.email) ?? text(claims.email),
        siret: text(userinfo.siret) ?? text(claims.siret),
        acr: text(claims.acr),
        amr: Array.isArray(claims.amr) ? claims.amr.filter((a): a is string => typeof a === 'string') : [],
        idToken: tokens.id_token,
      }
    },
    async endSessionUrl(idToken, postLogoutUrl) {
      const config = await configured()
      if (!config.serverMetadata().end_session_endpoint) return undefined
      const parameters: Record<string, string> = { post_logout_redirect_uri: postLogoutUrl, client_id: settings.clientId }
      if (idToken) parameters.id_token_hint = idToken
      return client.buildEndSessionUrl(config, parameters)
    },
  }
}
