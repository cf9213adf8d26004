import pg from 'pg'
import type { TestProject } from 'vitest/node'
import { probeOpenSsh } from './sshd.ts'

/**
 * Says which real services the integration suite will use, and provides the answer to the test files: a real
 * PostgreSQL (else the postgres project is skipped, the suite runs on PGlite only) and a real OpenSSH sshd (else
 * the in-process ssh2 server). Runs once per project; probes and prints once per run.
 */
export default async function setup(project: TestProject): Promise<void> {
  if (process.env.PASSERELLE_TESTS_PROBED === undefined) {
    const url = process.env.PASSERELLE_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
    let postgres = false
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 })
    try {
      await client.connect()
      await client.query('select 1')
      postgres = true
    } catch {
      postgres = false
    } finally {
      await client.end().catch(() => {})
    }
    process.env.PASSERELLE_TESTS_PROBED = postgres ? url : ''
    console.log(
      postgres
        ? `[passerelle tests] PostgreSQL reachable at ${new URL(url).host}: the postgres project runs against it`
        : `[passerelle tests] PostgreSQL NOT reachable at ${new URL(url).host}: the postgres project is skipped; the suite runs on PGlite only`,
    )
    // Sets PASSERELLE_TEST_SFTP=embedded for the workers when sshd cannot be used.
    console.log((await probeOpenSsh()).line)
  }
  project.provide('postgresUrl', process.env.PASSERELLE_TESTS_PROBED ?? '')
}

declare module 'vitest' {
  export interface ProvidedContext {
    postgresUrl: string
  }
}
