import { mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { appendAuditEvents } from '../../src/audit/audit-log.ts'
import { eventHash, eventHashV2, GENESIS_HASH, type AuditEventInput } from '../../src/audit/chain.ts'
import { eventOfRow, type StoredEventRow } from '../../src/audit/event-row.ts'
import { verifyAuditLog } from '../../src/audit/verify-log.ts'
import { CheckpointRefusedError, writeAuditCheckpoint, type CheckpointTarget } from '../../src/audit/write-checkpoint.ts'
import { testKeys } from '../../src/crypto/keys.ts'
import type { Queryable } from '../../src/db/db.ts'
import { createTestDatabase, postgresUnavailable, type TestDatabase } from '../helpers/database.ts'

/**
 * The audit log attacked by someone who can write to the database (issue 13, point 11): every rewrite below must
 * make `audit verify` fail and say what it found. The log holds 1,000 events, a signed checkpoint taken at its
 * head sits outside the database (a file and its mirror), then the attacker acts.
 */
const keys = testKeys()
const EVENTS = 1000

const event = (i: number): AuditEventInput => ({
  occurredAt: new Date(Date.UTC(2026, 10, 1, 8, 0, 0, 0) + i * 1000),
  actor: `user-${i % 7}`,
  organisation: '12345678900011',
  purpose: 'accompagnement-rsa',
  action: 'api.beneficiaire.read',
  subject: `p_subject${i % 13}`,
  outcome: i % 4 === 0 ? 'denied' : 'granted',
  requestId: `req-${i}`,
  clientAddress: '127.0.0.1',
  details: { status: i % 4 === 0 ? 404 : 200, nested: { b: 1, a: [1, 2] } },
})

/**
 * Recomputes every hash from `fromSeq` on, as an attacker would after a rewrite: with plain SHA-256 (version 1,
 * all a database administrator can compute), or with the stolen chain key (an attacker who also read the
 * application's keys, against whom only the signed checkpoints remain).
 */
async function rechain(db: Queryable, fromSeq: number, mode: 'sha256' | 'stolen-key'): Promise<void> {
  const before = await db.query<{ hash: string }>('select hash from audit_events where seq = $1', [fromSeq - 1])
  let prev = before.rows[0]?.hash ?? GENESIS_HASH
  const { rows } = await db.query<StoredEventRow>(
    `select seq, to_char(occurred_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as instant, occurred_at, actor, organisation,
            purpose, action, subject, outcome, request_id, client_address, details
     from audit_events
     where seq >= $1
     order by seq`,
    [fromSeq],
  )
  const updates = rows.map((r) => {
    const seq = Number(r.seq)
    const hash = mode === 'sha256' ? eventHash(seq, prev, eventOfRow(r)) : eventHashV2(keys.audit.chain, seq, prev, eventOfRow(r), r.instant)
    const update = { seq, prev, hash }
    prev = hash
    return update
  })
  await db.query(
    `update audit_events e
     set prev_hash = u.prev, hash = u.hash, hash_version = $4
     from unnest($1::bigint[], $2::text[], $3::text[]) as u (seq, prev, hash)
     where e.seq = u.seq`,
    [updates.map((u) => u.seq), updates.map((u) => u.prev), updates.map((u) => u.hash), mode === 'sha256' ? 1 : 2],
  )
}

/** Moves every event after `seq` one place down (an event was deleted and the rest renumbered). */
async function renumberAfter(db: Queryable, seq: number): Promise<void> {
  await db.query('update audit_events set seq = seq + 10000000 where seq > $1', [seq])
  await db.query('update audit_events set seq = seq - 10000001 where seq > 10000000')
}

describe.skipIf(postgresUnavailable())('audit log against a database administrator', () => {
  let t: TestDatabase
  let dir: string
  let target: CheckpointTarget
  const verify = () => verifyAuditLog(t.db, keys.audit.verifying, target, 300)
  const checkpoint = () => writeAuditCheckpoint(t.db, keys.audit, target, new Date())

  beforeAll(async () => {
    t = await createTestDatabase()
  })
  afterAll(() => t?.drop())

  beforeEach(async () => {
    await t.db.query('delete from audit_events')
    await t.db.query('delete from audit_truncations')
    await t.db.query('delete from audit_texts')
    await t.db.query('delete from retention_receipts')
    if (dir) rmSync(dir, { recursive: true, force: true })
    dir = mkdtempSync(path.join(tmpdir(), 'passerelle-checkpoints-'))
    target = { checkpointFile: path.join(dir, 'data', 'audit-checkpoints.jsonl'), checkpointMirrorDir: path.join(dir, 'mirror') }
    await t.db.transaction((tx) => appendAuditEvents(tx, Array.from({ length: EVENTS }, (_, i) => event(i + 1))))
    expect(await checkpoint()).toMatchObject({ written: true, n: 1, seq: EVENTS, count: EVENTS })
    const clean = await verify()
    expect(clean).toMatchObject({ ok: true, findings: [], checkpoints: 1, unattested: 0 })
  })

  // The seven rewrites that `audit verify` missed before.

  it('detects the last 50 events deleted', async () => {
    await t.db.query('delete from audit_events where seq > $1', [EVENTS - 50])
    const v = await verify()
    expect(v.ok).toBe(false)
    expect(v.findings).toContain('events after checkpoint 1 (seq 1,000) are missing: the head is 950')
  })

  it('detects the last event deleted', async () => {
    await t.db.query('delete from audit_events where seq = $1', [EVENTS])
    const v = await verify()
    expect(v.ok).toBe(false)
    expect(v.findings).toContain('events after checkpoint 1 (seq 1,000) are missing: the head is 999')
  })

  it('detects a forged event appended with a correct SHA-256 hash, even after the last checkpoint', async () => {
    const { rows } = await t.db.query<{ hash: string }>('select hash from audit_events where seq = $1', [EVENTS])
    const forged = { ...event(5000), actor: 'nobody' }
    const v1 = eventHash(EVENTS + 1, rows[0]!.hash, forged)
    await t.db.query(
      `insert into audit_events (seq, occurred_at, actor, organisation, purpose, action, subject, outcome, request_id, client_address, details, prev_hash, hash, hash_version)
       values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 1)`,
      [EVENTS + 1, forged.occurredAt, forged.actor, forged.organisation, forged.purpose, forged.action, forged.subject, forged.outcome, forged.requestId, forged.clientAddress, JSON.stringify(forged.details), rows[0]!.hash, v1],
    )
    expect(await verify()).toMatchObject({ ok: false, chain: { ok: false, brokenAt: EVENTS + 1, reason: 'version_downgrade' } })
    // Declared as version 2, its SHA-256 is not the keyed hash: rejected as well.
    await t.db.query('update audit_events set hash_version = 2 where seq = $1', [EVENTS + 1])
    expect(await verify()).toMatchObject({ ok: false, chain: { ok: false, brokenAt: EVENTS + 1, reason: 'hash_mismatch' } })
  })

  it('detects event 500 changed and every later hash recomputed, with SHA-256 or with the stolen chain key', async () => {
    await t.db.query(`update audit_events set outcome = 'granted', actor = 'someone-else' where seq = 500`)
    await rechain(t.db, 500, 'sha256')
    expect(await verify()).toMatchObject({ ok: false, chain: { ok: false, brokenAt: 500, reason: 'version_downgrade' } })
    await rechain(t.db, 500, 'stolen-key')
    const v = await verify()
    expect(v.chain.ok).toBe(true)
    expect(v.ok).toBe(false)
    expect(v.findings).toEqual([expect.stringMatching(/^event 1,000 differs from checkpoint 1's head: an event at or before it, up to seq 1,000, was changed/)])
  })

  it('narrows a rewrite down to the events between two checkpoints', async () => {
    await t.db.transaction((tx) => appendAuditEvents(tx, Array.from({ length: 100 }, (_, i) => event(EVENTS + i + 1))))
    expect(await checkpoint()).toMatchObject({ written: true, n: 2, seq: EVENTS + 100 })
    await t.db.query(`update audit_events set actor = 'someone-else' where seq = 1050`)
    await rechain(t.db, 1050, 'stolen-key')
    const v = await verify()
    expect(v.findings).toEqual([expect.stringMatching(/^event 1,100 differs from checkpoint 2's head: an event after checkpoint 1's head \(seq 1,000\), which still matches, up to seq 1,100/)])
  })

  it('detects event 500 deleted and the later ones renumbered', async () => {
    await t.db.query('delete from audit_events where seq = 500')
    await renumberAfter(t.db, 499)
    await rechain(t.db, 500, 'sha256')
    expect(await verify()).toMatchObject({ ok: false, chain: { ok: false, reason: 'version_downgrade' } })
    await rechain(t.db, 500, 'stolen-key')
    const v = await verify()
    expect(v.chain.ok).toBe(true)
    expect(v.findings).toContain('events after checkpoint 1 (seq 1,000) are missing: the head is 999')
  })

  it('detects a forged truncation row with the events before it deleted', async () => {
    const { rows } = await t.db.query<{ hash: string }>('select hash from audit_events where seq = 500')
    await t.db.query('insert into audit_truncations (upto_seq, last_hash, truncated_at) values (500, $1, now())', [rows[0]!.hash])
    await t.db.query('delete from audit_events where seq <= 500')
    const v = await verify()
    expect(v.chain.ok).toBe(true)
    expect(v.ok).toBe(false)
    expect(v.findings).toEqual([
      'the log starts after seq 500 (audit_truncations) but neither a checkpoint nor a purge receipt records that purge: events up to seq 500 were deleted outside the retention run',
    ])
    // And the next checkpoint refuses to attest it.
    await expect(checkpoint()).rejects.toThrow(CheckpointRefusedError)
  })

  it('refuses a purge receipt a DBA can write: unkeyed, at a negative seq, or before what it purged', async () => {
    const { rows } = await t.db.query<{ hash: string }>('select hash from audit_events where seq = 500')
    await t.db.query('insert into audit_truncations (upto_seq, last_hash, truncated_at) values (500, $1, now())', [rows[0]!.hash])
    await t.db.query('delete from audit_events where seq <= 500')
    const receipt: AuditEventInput = { ...event(9000), actor: 'passerelle:retention', action: 'retention.destroy', outcome: 'done', subject: null, details: { uptoSeq: 500 } }
    const insert = (seq: number, hash: string, version: number) =>
      t.db.query(
        `insert into retention_receipts (seq, occurred_at, actor, organisation, purpose, action, subject, outcome, request_id, client_address, details, prev_hash, hash, hash_version)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
        [seq, receipt.occurredAt, receipt.actor, receipt.organisation, receipt.purpose, receipt.action, receipt.subject, receipt.outcome, receipt.requestId, receipt.clientAddress, JSON.stringify(receipt.details), GENESIS_HASH, hash, version],
      )
    for (const [seq, version] of [[-1, 1], [600, 1], [400, 1]] as const) {
      await t.db.query('delete from retention_receipts')
      await insert(seq, eventHash(seq, GENESIS_HASH, receipt), version)
      const v = await verify()
      expect(v.ok, `receipt at seq ${seq}`).toBe(false)
      expect(v.findings, `receipt at seq ${seq}`).toContain(
        'the log starts after seq 500 (audit_truncations) but neither a checkpoint nor a purge receipt records that purge: events up to seq 500 were deleted outside the retention run',
      )
      await expect(checkpoint()).rejects.toThrow(CheckpointRefusedError)
    }
  })

  it('detects details turned into a JSON string holding the same text (it hashed alike and hid from searches)', async () => {
    await t.db.query('update audit_events set details = to_jsonb(details::text) where seq = 20')
    expect(await verify()).toMatchObject({ ok: false, chain: { ok: false, brokenAt: 20, reason: 'hash_mismatch', field: 'details' } })
    await t.db.query(`update audit_events set details = '"not json"'::jsonb where seq = 20`)
    expect(await verify()).toMatchObject({ ok: false, chain: { ok: false, brokenAt: 20, reason: 'hash_mismatch' } })
  })

  it('sees an event slipped in below the chain, and does not loop on a seq beyond exact integers', async () => {
    const forged = { ...event(7), action: 'retention.destroy' }
    const insert = (table: string, seq: string) =>
      t.db.query(
        `insert into ${table} (seq, occurred_at, actor, organisation, purpose, action, subject, outcome, request_id, client_address, details, prev_hash, hash, hash_version)
         values ($1::bigint, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 1)`,
        [seq, forged.occurredAt, forged.actor, forged.organisation, forged.purpose, forged.action, forged.subject, forged.outcome, forged.requestId, forged.clientAddress, JSON.stringify(forged.details), GENESIS_HASH, eventHash(-7, GENESIS_HASH, forged)],
      )
    await insert('audit_events', '-7')
    expect(await verify()).toMatchObject({ ok: false, chain: { ok: false, reason: 'bad_start' } })
    await t.db.query('delete from audit_events where seq < 0')
    await insert('retention_receipts', '9007199254740993')
    const v = await verify()
    expect(v.ok).toBe(false)
    expect(v.receipts).toMatchObject({ ok: false })
  })

  it('a retention run refuses to purge events whose date was moved back to make them look old', async () => {
    await t.db.query(`update audit_events set occurred_at = occurred_at - interval '3 years' where seq <= 60`)
    const { purgeAuditLog } = await import('../../src/retention/purge-audit-log.ts')
    const { createPacer } = await import('../../src/retention/run-context.ts')
    const { createLogger } = await import('../../src/log/logger.ts')
    const ctx = { db: t.db, log: createLogger({ level: 'silent' }), runId: 'r', now: new Date('2026-11-10T12:00:00Z'), today: '2026-11-10', chunkSize: 2000, onChunk: undefined, pacer: createPacer({ ratio: 0 }) }
    await expect(purgeAuditLog(ctx, 'audit-log', { destroyAnchorCutoff: '2025-01-01' } as never)).rejects.toThrow(/audit log: event 1 does not match the chain \(hash_mismatch\): nothing purged/)
    expect((await t.db.query<{ n: number }>('select count(*)::int as n from audit_events')).rows[0]!.n).toBe(EVENTS)
  })

  it('detects occurred_at shifted by 0.4 ms', async () => {
    await t.db.query(`update audit_events set occurred_at = occurred_at + interval '400 microseconds' where seq = 321`)
    expect(await verify()).toMatchObject({ ok: false, chain: { ok: false, brokenAt: 321, reason: 'hash_mismatch' } })
  })

  // The rewrites that were already caught, kept caught.

  it.each([
    ['a field changed', `update audit_events set outcome = 'granted' where seq = 400`, 400, 'hash_mismatch'],
    ['the actor changed', `update audit_events set actor = 'someone-else' where seq = 400`, 400, 'hash_mismatch'],
    ['the subject changed', `update audit_events set subject = 'p_other' where seq = 400`, 400, 'hash_mismatch'],
    ['a detail changed', `update audit_events set details = jsonb_set(details, '{status}', '500') where seq = 400`, 400, 'hash_mismatch'],
    ['the instant moved by a second', `update audit_events set occurred_at = occurred_at + interval '1 second' where seq = 400`, 400, 'hash_mismatch'],
    ['the stored hash replaced', `update audit_events set hash = repeat('a', 64) where seq = 400`, 400, 'hash_mismatch'],
    ['prev_hash edited', `update audit_events set prev_hash = repeat('b', 64) where seq = 400`, 400, 'link_mismatch'],
    ['an event deleted', `delete from audit_events where seq = 400`, 400, 'gap'],
    ['the first event deleted', `delete from audit_events where seq = 1`, 1, 'bad_start'],
    ['an event renumbered', `update audit_events set seq = 5000 where seq = 400`, 400, 'gap'],
    [
      'an event replaced by a copy of another',
      `update audit_events a set occurred_at = b.occurred_at, actor = b.actor, subject = b.subject, outcome = b.outcome, request_id = b.request_id, details = b.details, hash = b.hash
       from audit_events b where a.seq = 400 and b.seq = 200`,
      400,
      'hash_mismatch',
    ],
    ['the version downgraded to the unkeyed hash', `update audit_events set hash_version = 1 where seq = 400`, 400, 'version_downgrade'],
  ])('detects %s', async (_name, sql, brokenAt, reason) => {
    await t.db.query(sql)
    expect(await verify()).toMatchObject({ ok: false, chain: { ok: false, brokenAt, reason } })
  })

  it('detects two events swapped', async () => {
    await t.db.query('update audit_events set seq = -1 where seq = 300')
    await t.db.query('update audit_events set seq = 300 where seq = 301')
    await t.db.query('update audit_events set seq = 301 where seq = -1')
    expect(await verify()).toMatchObject({ ok: false, chain: { ok: false, brokenAt: 300, reason: 'link_mismatch' } })
  })

  it('detects a forged event inserted in the middle', async () => {
    await t.db.query('update audit_events set seq = seq + 10000000 where seq >= 600')
    await t.db.query('update audit_events set seq = seq - 9999999 where seq >= 10000000')
    const prev = (await t.db.query<{ hash: string }>('select hash from audit_events where seq = 599')).rows[0]!.hash
    const forged = event(9999)
    await t.db.query(
      `insert into audit_events (seq, occurred_at, actor, organisation, purpose, action, subject, outcome, request_id, client_address, details, prev_hash, hash, hash_version)
       values (600, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 2)`,
      [forged.occurredAt, forged.actor, forged.organisation, forged.purpose, forged.action, forged.subject, forged.outcome, forged.requestId, forged.clientAddress, JSON.stringify(forged.details), prev, 'c'.repeat(64)],
    )
    expect(await verify()).toMatchObject({ ok: false, chain: { ok: false, brokenAt: 600, reason: 'hash_mismatch' } })
  })

  // The checkpoints themselves.

  it('names a checkpoint whose signature no longer holds, and one removed from the file', async () => {
    await t.db.transaction((tx) => appendAuditEvents(tx, [event(2001)]))
    await checkpoint()
    await t.db.transaction((tx) => appendAuditEvents(tx, [event(2002)]))
    await checkpoint()
    const lines = readFileSync(target.checkpointFile, 'utf8').trimEnd().split('\n')
    expect(lines).toHaveLength(3)
    const edited = JSON.parse(lines[0]!)
    edited.seq = 990
    rmSync(target.checkpointMirrorDir!, { recursive: true })
    writeFileSync(target.checkpointFile, [JSON.stringify(edited), lines[2]].join('\n') + '\n')
    const v = await verify()
    expect(v.ok).toBe(false)
    expect(v.findings).toEqual(expect.arrayContaining([
      'checkpoint 1 signature invalid: it was changed after it was signed',
      'checkpoints 1 to 2 are missing from the file (numbering jumps to 3)',
    ]))
  })

  it('finds a deleted checkpoint file in its mirror', async () => {
    await t.db.query('delete from audit_events where seq > 990')
    unlinkSync(target.checkpointFile)
    const v = await verify()
    expect(v.findings).toEqual(expect.arrayContaining([
      expect.stringMatching(/^the checkpoint file .* is missing; its mirror holds 1 line\(s\), used instead$/),
      'events after checkpoint 1 (seq 1,000) are missing: the head is 990',
    ]))
  })

  it('names a checkpoint file that lost its last checkpoint, and still compares the chain with the mirror', async () => {
    await t.db.transaction((tx) => appendAuditEvents(tx, [event(2001)]))
    expect(await checkpoint()).toMatchObject({ written: true, n: 2 })
    const lines = readFileSync(target.checkpointFile, 'utf8').split('\n')
    writeFileSync(target.checkpointFile, `${lines[0]}\n`)
    await t.db.query('delete from audit_events where seq > 1000')
    const v = await verify()
    expect(v.findings).toEqual([
      'the checkpoint file has 1 line(s), its mirror 2: the file lost its last 1',
      'events after checkpoint 2 (seq 1,001) are missing: the head is 1,000',
    ])
  })

  it('says no checkpoint attests the log when the file and its mirror are both gone', async () => {
    rmSync(dir, { recursive: true })
    const v = await verify()
    expect(v.ok).toBe(false)
    expect(v.findings).toEqual([expect.stringMatching(/^no checkpoint attests this log/)])
  })

  it('refuses to checkpoint a history that no longer agrees with the last checkpoint, and keeps the last good one', async () => {
    await t.db.query(`update audit_events set outcome = 'granted' where seq = 700`)
    await rechain(t.db, 700, 'stolen-key')
    await t.db.transaction((tx) => appendAuditEvents(tx, [event(3000)]))
    await expect(checkpoint()).rejects.toThrow(/event 1000 no longer has the hash checkpoint 1 recorded/)
    expect(readFileSync(target.checkpointFile, 'utf8').trimEnd().split('\n')).toHaveLength(1)
  })

  it('detects the retention receipts kept after a purge deleted, even all of them', async () => {
    await t.db.transaction((tx) => appendAuditEvents(tx, [1, 2].map((i) => ({ ...event(EVENTS + i), actor: 'passerelle:retention', action: 'retention.destroy', outcome: 'done', subject: null, details: { policy: 'rsa-beneficiaires', counts: { dossiers: i } } }))))
    const { purgeAuditLog } = await import('../../src/retention/purge-audit-log.ts')
    const { createPacer } = await import('../../src/retention/run-context.ts')
    const { createLogger } = await import('../../src/log/logger.ts')
    const ctx = { db: t.db, log: createLogger({ level: 'silent' }), runId: 'r', now: new Date('2027-12-10T12:00:00Z'), today: '2027-12-10', chunkSize: 5000, onChunk: undefined, pacer: createPacer({ ratio: 0 }) }
    expect(await purgeAuditLog(ctx, 'audit-log', { destroyAnchorCutoff: '2027-01-01' } as never)).toBe(EVENTS + 2)
    expect((await t.db.query<{ n: number }>('select count(*)::int as n from retention_receipts')).rows[0]!.n).toBe(2)
    const clean = await verify()
    expect(clean.findings).toEqual([])
    await t.db.query('delete from retention_receipts')
    const v = await verify()
    expect(v.ok).toBe(false)
    expect(v.findings).toEqual([expect.stringMatching(/^the purge of the log up to seq 1,002 kept 2 retention receipt\(s\) from seq 1; 0 are there now, some were deleted or added/)])
  })

  it('does not spread to the mirror a line added to the checkpoint file that is not a checkpoint', async () => {
    const mirror = path.join(target.checkpointMirrorDir!, 'audit-checkpoints.jsonl')
    const before = readFileSync(mirror, 'utf8')
    writeFileSync(target.checkpointFile, `${readFileSync(target.checkpointFile, 'utf8')}{"n":2,"forged":true}\n`)
    await t.db.transaction((tx) => appendAuditEvents(tx, [event(4001)]))
    await checkpoint().catch(() => undefined)
    expect(readFileSync(mirror, 'utf8')).toBe(before)
    expect((await verify()).ok).toBe(false)
  })

  it('completes a checkpoint file from its mirror when it was deleted, and writes nothing when the head has not moved', async () => {
    unlinkSync(target.checkpointFile)
    expect(await checkpoint()).toMatchObject({ written: false, why: 'unchanged', n: 1, restored: [expect.stringContaining('copied back from the mirror')] })
    expect(readFileSync(target.checkpointFile, 'utf8')).toBe(readFileSync(path.join(target.checkpointMirrorDir!, 'audit-checkpoints.jsonl'), 'utf8'))
    await t.db.transaction((tx) => appendAuditEvents(tx, [event(4000)]))
    expect(await checkpoint()).toMatchObject({ written: true, n: 2 })
    expect((await verify()).ok).toBe(true)
  })
})
