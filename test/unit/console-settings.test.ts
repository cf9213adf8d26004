import { describe, expect, it } from 'vitest'
import { ConfigError, loadConfig, redactConfig } from '../../src/config/config.ts'

/** The console's OpenID Connect settings: all four or none, https off loopback, the secret never shown. */
const GOOD = {
  PASSERELLE_OIDC_ISSUER: 'https://auth.agentconnect.gouv.fr/api/v2',
  PASSERELLE_OIDC_CLIENT_ID: 'passerelle',
  PASSERELLE_OIDC_CLIENT_SECRET: 'secret-sentinel-0042',
  PASSERELLE_OIDC_REDIRECT_URL: 'https://passerelle.departement.example/console/auth/callback',
}
const problems = (env: Record<string, string>) => {
  try {
    loadConfig(env)
    return []
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    return error.problems
  }
}

describe('console sign-in settings', () => {
  it('leaves the console without sign-in when none is set', () => {
    expect(loadConfig({}).console).toEqual({ oidc: undefined, sessionMinutes: 480 })
  })

  it('reads a complete ProConnect client, with the default scopes', () => {
    const oidc = loadConfig(GOOD).console.oidc!
    expect(oidc.issuer).toBe(GOOD.PASSERELLE_OIDC_ISSUER)
    expect(oidc.scopes).toBe('openid email given_name usual_name siret')
    expect(JSON.stringify(redactConfig(loadConfig(GOOD)))).not.toContain(GOOD.PASSERELLE_OIDC_CLIENT_SECRET)
  })

  it('names each missing variable when only some are set', () => {
    const { PASSERELLE_OIDC_CLIENT_SECRET: _, PASSERELLE_OIDC_REDIRECT_URL: __, ...partial } = GOOD
    const found = problems(partial)
    expect(found.map((p) => p.split(':')[0])).toEqual(['PASSERELLE_OIDC_CLIENT_SECRET', 'PASSERELLE_OIDC_REDIRECT_URL'])
  })

  it('refuses http off loopback, credentials in a URL, scopes without openid, a session of a week', () => {
    expect(problems({ ...GOOD, PASSERELLE_OIDC_ISSUER: 'http://idp.example' })[0]).toMatch(/^PASSERELLE_OIDC_ISSUER: must be an https/)
    expect(problems({ ...GOOD, PASSERELLE_OIDC_REDIRECT_URL: 'https://u:p@host/cb' })[0]).toMatch(/^PASSERELLE_OIDC_REDIRECT_URL/)
    expect(problems({ ...GOOD, PASSERELLE_OIDC_SCOPES: 'email siret' })[0]).toMatch(/^PASSERELLE_OIDC_SCOPES: must include openid/)
    expect(problems({ PASSERELLE_CONSOLE_SESSION_MINUTES: '10080' })[0]).toMatch(/^PASSERELLE_CONSOLE_SESSION_MINUTES/)
    expect(problems({ ...GOOD, PASSERELLE_OIDC_ISSUER: 'http://127.0.0.1:9999' })).toEqual([])
    for (const p of problems({ ...GOOD, PASSERELLE_OIDC_ISSUER: 'http://idp.example' })) expect(p).not.toContain(GOOD.PASSERELLE_OIDC_CLIENT_SECRET)
  })
})
