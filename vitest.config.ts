import { defineConfig } from 'vitest/config'

/**
 * Three projects: pure unit tests once, and the integration suite twice, against a real PostgreSQL and against
 * the embedded PGlite. The global setup finds out which real services are reachable (PostgreSQL, OpenSSH sshd)
 * and says so; a missing one makes its tests fall back (SFTP) or skip with a printed notice (PostgreSQL).
 */
export default defineConfig({
  test: {
    globalSetup: ['test/helpers/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 2,
    projects: [
      { extends: true, test: { name: 'unit', include: ['test/unit/**/*.test.ts'] } },
      {
        extends: true,
        test: { name: 'postgres', include: ['test/integration/**/*.test.ts'], env: { PASSERELLE_TEST_BACKEND: 'postgres' } },
      },
      {
        extends: true,
        test: { name: 'pglite', include: ['test/integration/**/*.test.ts'], env: { PASSERELLE_TEST_BACKEND: 'pglite' } },
      },
    ],
  },
})
