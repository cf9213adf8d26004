import { Writable } from 'node:stream'
import { inspect } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { testKeys } from '../../src/crypto/keys.ts'
import { runJob } from '../../src/jobs/run-job.ts'
import { createLogger } from '../../src/log/logger.ts'
import { buildWorld, testPurposes, worldApp, type World } from '../helpers/api-seed.ts'
import { createTestDatabase, postgresUnavailable, testBackend, type TestDatabase } from '../helpers/database.ts'

/**
 * A failing query never lets its parameters out: not in the error thrown (message, stack, inspected form, JSON), not
 * in a log line, not in a job run's recorded error, not in an HTTP answer. Real failing queries on the backend under
 * test (PostgreSQL or PGlite), with planted sentinel values as parameters.
 */
const SENTINEL = 'gonzalez.sentinel.7q'
const SENTINEL_EMAIL = `${SENTINEL}@test.example`
const SENTINEL_NUMBER = '97531086420'
const SENTINEL_DATE = 'SENTINEL-1972-13-45'
const SENTINELS = [SENTINEL, SENTINEL_NUMBER, SENTINEL_DATE, 'SENTINEL']

describe.skipIf(postgresUnavailable())(`failing queries on ${testBackend()}`, () => {
  let t: TestDatabase
  let world: World
  let orgId: number
  const lines: string[] = []
  const destination = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk))
      done()
    },
  })
  const log = createLogger({ level: 'debug', destination })
  const keys = testKeys()
  const purposes = testPurposes()

  beforeAll(async () => {
    t = await createTestDatabase()
    world = await buildWorld(t.db, keys, purposes)
    orgId = world.orgs.A.id
    await t.db.query(`insert into users (email, display_name, role, organisation_id) values ($1, 'Agent', 'referent', $2)`, [SENTINEL_EMAIL, orgId])
  })
  afterAll(() => t?.drop())

  const expectNoSentinel = (label: string, text: string) => {
    for (const s of SENTINELS) expect({ label, leaks: text.includes(s) }).toEqual({ label, leaks: false })
  }

  const FAILING: { name: string; code: string; run: () => Promise<unknown> }[] = [
    {
      name: 'unique violation (detail quotes the key)',
      code: '23505',
      run: () => t.db.query(`insert into users (email, display_name, role, organisation_id) values ($1, 'Agent', 'referent', $2)`, [SENTINEL_EMAIL, orgId]),
    },
    {
      name: 'not-null violation (detail quotes the failing row)',
      code: '23502',
      run: () => t.db.query(`insert into users (email, display_name, role, organisation_id) values ($1, $2, 'referent', null)`, [`x${SENTINEL_EMAIL}`, SENTINEL]),
    },
    {
      name: 'check violation (detail quotes the failing row)',
      code: '23514',
      run: () => t.db.query(`insert into users (email, display_name, role, organisation_id) values ($1, $2, 'nobody', $3)`, [`y${SENTINEL_EMAIL}`, SENTINEL, orgId]),
    },
    { name: 'invalid date (message quotes the value)', code: '22007', run: () => t.db.query('select $1::date', [SENTINEL_DATE]) },
    { name: 'integer out of range (message quotes the value)', code: '22003', run: () => t.db.query('select $1::int', [SENTINEL_NUMBER]) },
    { name: 'invalid uuid (message quotes the value)', code: '22P02', run: () => t.db.query('select * from persons where public_id = $1', [SENTINEL]) },
    {
      name: 'a failure inside a transaction',
      code: '23505',
      run: () => t.db.transaction((tx) => tx.query(`insert into users (email, display_name, role, organisation_id) values ($1, 'Agent', 'referent', $2)`, [SENTINEL_EMAIL, orgId])),
    },
    {
      name: 'a named query',
      code: '22007',
      run: () => t.db.query('select $1::timestamptz', [SENTINEL_DATE], { name: 'test.named' }),
    },
  ]

  for (const failing of FAILING) {
    it(`throws a DatabaseError with the code and the query's name, and no parameter: ${failing.name}`, async () => {
      const error = await failing.run().then(
        () => undefined,
        (e: unknown) => e,
      )
      const e = error as Error & { code?: string; queryName?: string }
      // The logs come first: they are what leaked before.
      const before = lines.length
      log.error({ err: e, error: e }, 'query failed')
      log.error(e)
      log.error({ err: new Error('wrapped', { cause: e }) }, 'wrapped failure')
      const logged = lines.slice(before).join('')
      expectNoSentinel('log', logged)
      expect(logged).toContain(failing.code)
      expect(e.name).toBe('DatabaseError')
      expect(e.code).toBe(failing.code)
      expect(logged).toContain(e.queryName)
      expect(e.queryName).toMatch(failing.name === 'a named query' ? /^test\.named$/ : /^[a-z]+( [a-z_.]+)? #[0-9a-f]{8}$/)
      expectNoSentinel('message', e.message)
      expectNoSentinel('stack', e.stack ?? '')
      expectNoSentinel('inspect', inspect(e, { depth: 10, showHidden: true }))
      expectNoSentinel('json', JSON.stringify(e))
    })
  }

  it('logs a driver error that escaped the database layer without its query, parameters or detail', async () => {
    const raw = Object.assign(new Error(`duplicate key value violates unique constraint "users_email_key"`), {
      code: '23505',
      severity: 'ERROR',
      detail: `Key (email)=(${SENTINEL_EMAIL}) already exists.`,
      where: `SQL function with ${SENTINEL}`,
      internalQuery: `select '${SENTINEL}'`,
      query: `insert into users values ('${SENTINEL}')`,
      params: [SENTINEL_EMAIL, SENTINEL_NUMBER],
      constraint: 'users_email_key',
    })
    const before = lines.length
    log.error({ err: raw }, 'raw failure')
    log.error({ err: new Error('outer', { cause: raw }) }, 'raw cause')
    const logged = lines.slice(before).join('')
    expect(logged).toContain('23505')
    expect(logged).toContain('users_email_key')
    expectNoSentinel('raw log', logged)
  })

  it('records a failed background job without the parameters of the query that failed', async () => {
    const before = lines.length
    const result = await runJob({ db: t.db, log }, 'test-failing-job', async () => {
      await t.db.query('select $1::date', [SENTINEL_DATE])
      return {}
    })
    expect(result.outcome).toBe('failed')
    expectNoSentinel('job result', result.error ?? '')
    const { rows } = await t.db.query<{ error: string }>(`select error from job_runs where job = 'test-failing-job'`)
    expect(rows[0]!.error).toContain('22007')
    expectNoSentinel('job_runs.error', rows[0]!.error)
    expectNoSentinel('job log', lines.slice(before).join(''))
  })

  it('answers a request whose query fails with a 500 that logs and says nothing of the values', async () => {
    // A trigger that fails quoting the row: the kind of message PostgreSQL builds from values.
    await t.db.exec(`
      create function test_refuse_user() returns trigger language plpgsql as $$
      begin
        if new.display_name like '%sentinel%' then
          raise exception 'refused user %', new.display_name;
        end if;
        return new;
      end $$;
      create trigger test_refuse_user before insert on users for each row execute function test_refuse_user();
    `)
    const app = worldApp(t.db, keys, purposes, { log })
    const before = lines.length
    const res = await app.request('/v1/admin/users', {
      method: 'POST',
      headers: { Authorization: `Bearer ${world.tokens.admin}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ email: 'new.agent@test.example', displayName: `Agent ${SENTINEL}`, role: 'referent', organisationSiret: world.orgs.A.siret }),
    })
    expect(res.status).toBe(500)
    expectNoSentinel('response', await res.text())
    const logged = lines.slice(before).join('')
    expect(logged).toContain('request failed')
    expect(logged).toContain('P0001')
    expectNoSentinel('request log', logged)
  })
})
