import { describe, expect, it } from 'vitest'
import { DatabaseError, isDriverError, queryName } from '../../src/db/database-error.ts'

/** What a failing query may say: code, name and schema identifiers; never a value the driver quoted. */
const SENTINEL = 'GONZALEZ-Theo-1972'

const pgError = (code: string, message: string, extra: Record<string, unknown> = {}) =>
  Object.assign(new Error(message), { code, severity: 'ERROR', detail: `Key (nir_index)=(${SENTINEL}) already exists.`, where: SENTINEL, ...extra })

describe('DatabaseError', () => {
  it('keeps the message of integrity and syntax errors, which name only schema objects', () => {
    const e = new DatabaseError('insert users #00000000', pgError('23505', 'duplicate key value violates unique constraint "users_email_key"', { constraint: 'users_email_key', table: 'users' }))
    expect(e.message).toBe('query insert users #00000000 failed: duplicate key value violates unique constraint "users_email_key" (SQLSTATE 23505)')
    expect(e).toMatchObject({ code: '23505', constraint: 'users_email_key', table: 'users' })
    expect(JSON.stringify(e) + e.stack).not.toContain(SENTINEL)
  })

  it('describes a data exception by its condition only, wherever the value sits in the message', () => {
    for (const [code, message] of [
      ['22P02', `invalid input syntax for type uuid: "${SENTINEL}"`],
      ['22003', `value "${SENTINEL}" is out of range for type integer`],
      ['22008', `date/time field value out of range: "${SENTINEL}"`],
      ['P0001', `refused ${SENTINEL}`],
      ['XX000', `something about ${SENTINEL}`],
    ] as const) {
      const e = new DatabaseError('q', pgError(code, message))
      expect(e.message).not.toContain(SENTINEL)
      expect(e.message).toContain(code)
    }
  })

  it('keeps only identifier-shaped constraint, table and column names', () => {
    const e = new DatabaseError('q', pgError('23505', 'x', { constraint: `c'${SENTINEL}' or 1=1`, column: 'nir_index' }))
    expect(e.constraint).toBeUndefined()
    expect(e.column).toBe('nir_index')
  })

  it('recognises pg and PGlite errors, and leaves application errors alone', () => {
    expect(isDriverError(pgError('23505', 'x'))).toBe(true)
    expect(isDriverError(Object.assign(new Error('x'), { query: 'select $1', params: [SENTINEL] }))).toBe(true)
    expect(isDriverError(Object.assign(new Error('file rejected'), { code: 'too_many_rejections', detail: 'record 2' }))).toBe(false)
    expect(isDriverError(new DatabaseError('q', pgError('23505', 'x')))).toBe(false)
  })

  it('names a query by its verb, its first table and a digest of its text, the same every time', () => {
    const text = 'select id\n  from persons\n  where public_id = $1'
    expect(queryName(text)).toMatch(/^select persons #[0-9a-f]{8}$/)
    expect(queryName(text)).toBe(queryName(text))
    expect(queryName('insert into users (email) values ($1)')).toMatch(/^insert users #/)
    expect(queryName('update assignments set ends_on = $2 where id = $1')).toMatch(/^update assignments #/)
    expect(queryName(text)).not.toBe(queryName(`${text} `))
  })
})
