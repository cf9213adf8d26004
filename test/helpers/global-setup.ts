import pg from 'pg'
import type { TestProject } from 'vitest/node'

/** Says which real services the integration suite will use, and provides the answer to the test files. */
export default async function setup(project: TestProject): Promise<void> {
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
  project.provide('postgresUrl', postgres ? url : '')
  const line = postgres
    ? `[passerelle tests] PostgreSQL reachable at ${new URL(url).host}: the postgres project runs against it`
    : `[passerelle tests] PostgreSQL NOT reachable at ${new URL(url).host}: the postgres project is skipped; the suite runs on PGlite only`
  console.log(line)
}

declare module 'vitest' {
  export interface ProvidedContext {
    postgresUrl: string
  }
}
