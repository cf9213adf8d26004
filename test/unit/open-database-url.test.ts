import { describe, expect, it } from 'vitest'
import { openDatabase } from '../../src/db/open-database.ts'

describe('DATABASE_URL that cannot be used', () => {
  it('names the setting and the reason, never the URL or its password', async () => {
    for (const [url, reason] of [
      ['postgres://app:pw-sentinel-91@127.0.0.1:1/p', /nothing answers at its host and port .*\(ECONNREFUSED\)$/],
      ['postgres://app:pw-sentinel-91@no-such-host.invalid:5432/p', /its host name (does not resolve \(ENOTFOUND\)|could not be resolved now \(EAI_AGAIN\))$/],
    ] as const) {
      const error = (await openDatabase({ databaseUrl: url, dataDir: '/nonexistent', dbWaitMs: 5000 }).then(
        () => undefined,
        (e: unknown) => e,
      )) as Error
      expect(error?.message).toMatch(/^DATABASE_URL: cannot connect to the database: /)
      expect(error.message).toMatch(reason)
      expect(error.message).not.toMatch(/pw-sentinel|app:/)
    }
  })
})
