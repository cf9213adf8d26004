import { cpSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { Writable } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { AuditWriter } from '../../src/audit/audit-log.ts'
import { identityIndex, personMatchKey } from '../../src/crypto/blind-index.ts'
import { testKeys } from '../../src/crypto/keys.ts'
import { loadDeclarations } from '../../src/declarations/load-declarations.ts'
import { franceTravailIdentifierIndex } from '../../src/exchange/france-travail-api/look-up-persons.ts'
import { writeCnafFile } from '../../src/fixtures/cnaf/write-cnaf-file.ts'
import { adultsOf, foyer } from '../../src/fixtures/population.ts'
import { createApp } from '../../src/http/app.ts'
import { ingestFile, type IngestDeps } from '../../src/ingestion/ingest-file.ts'
import { createLogger } from '../../src/log/logger.ts'
import { listQueue } from '../../src/matching/queue-queries.ts'
import { discardQueued, linkQueued } from '../../src/matching/resolve-queued.ts'
import { runRetention } from '../../src/retention/run-retention.ts'
import { buildWorld, testPurposes } from '../helpers/api-seed.ts'
import { createTestDatabase, postgresUnavailable, type TestDatabase } from '../helpers/database.ts'
import { REPO_ROOT } from '../helpers/ingest.ts'

/**
 * France Travail records without a NIR (issue 15 item 3), through a flow declared in YAML only (not the SPIE flow):
 * matched by a linked France Travail identifier, else by an exact identity designating exactly one person of the
 * active base, else queued for an operator. The quality bar: 10,000 records of which 200 name homonyms born the
 * same day give 0 wrong links, the 200 queued, the rest matched; loading the file again changes nothing.
 */
const FLOW = `
title: Essai de rapprochement sans NIR
producer: France Travail
format:
  type: csv-records
  encoding: utf-8
  delimiter: ';'
  header: true
  null_literal: 'NULL'
  date_format: 'YYYY-MM-DD'
  kind: suivi
  values: { franceTravail.etat: inscription }
  fields:
    - { name: identifiant_ft, field: franceTravail.identifiant, normalise: [remove_spaces, uppercase] }
    - { name: nir, field: personne.nir, type: nir }
    - { name: nom_naissance, field: match.nomNaissance, max_length: 100 }
    - { name: prenom, field: match.prenom, max_length: 100 }
    - { name: date_naissance, field: personne.dateNaissance, type: date, required: true }
    - { name: date_inscription, field: franceTravail.dateEtat, type: date, required: true }
    - { name: agence, field: franceTravail.agence, max_length: 5 }
  target: registrations
schedule: '0 5 * * *'
retention: france-travail
max_rejected_rate: 0.5
`
const HEADER = 'identifiant_ft;nir;nom_naissance;prenom;date_naissance;date_inscription;agence'
// Every synthetic birth name starts with this: it must appear in no table, log line or rejection row.
const SENTINEL = 'QXSENTINEL'
const PRENOMS = [
  ['Anaïs', 'ANAIS'],
  ['Jean-Pierre', 'JEAN PIERRE'],
  ['Élodie', 'ELODIE'],
  ["Noël", 'NOEL'],
] as const

/** Base-26 letters: names hold no digits (the normalisation drops them). */
const letters = (i: number) => {
  let s = ''
  let n = i
  do {
    s = String.fromCharCode(65 + (n % 26)) + s
    n = Math.floor(n / 26)
  } while (n > 0)
  return s.padStart(4, 'A')
}
const pad = (n: number, w: number) => String(n).padStart(w, '0')

describe.skipIf(postgresUnavailable())('France Travail records matched without a NIR', () => {
  let t: TestDatabase
  let deps: IngestDeps
  const keys = testKeys()
  const logged: string[] = []
  const flowsDir = mkdtempSync(path.join(tmpdir(), 'passerelle-match-flows-'))
  cpSync(path.join(REPO_ROOT, 'flows'), flowsDir, { recursive: true })
  writeFileSync(path.join(flowsDir, 'essai-sans-nir.yaml'), FLOW)
  const declarations = loadDeclarations({ flowsDir, mappingsDir: path.join(REPO_ROOT, 'mappings') })
  const work = mkdtempSync(path.join(tmpdir(), 'passerelle-match-files-'))
  let minute = 0

  beforeAll(async () => {
    t = await createTestDatabase()
    const destination = new Writable({
      write(chunk, _enc, done) {
        logged.push(String(chunk))
        done()
      },
    })
    deps = { db: t.db, keys, log: createLogger({ level: 'debug', destination }), stored: declarations.stored, purposes: declarations.purposes }
  })
  afterAll(async () => {
    await t?.drop()
  })

  const ingest = (flowId: string, name: string, content: string, at?: Date) => {
    const file = path.join(work, name)
    writeFileSync(file, content)
    minute++
    return ingestFile(deps, declarations.flows.get(flowId)!, { path: file, name, source: 'local', modifiedAt: at ?? new Date(Date.UTC(2026, 10, 1, 8, minute)) })
  }
  const q = async <R,>(sql: string, params: unknown[] = []) => (await t.db.query<R>(sql, params)).rows
  const everything = async () => {
    const tables = await q<{ table_name: string }>(`select table_name from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE'`)
    let text = ''
    for (const { table_name } of tables) text += (await q<{ j: string }>(`select row_to_json(x)::text as j from "${table_name}" x`)).map((r) => r.j).join('\n')
    return text
  }

  it('gives every person of a CAF stock an identity index, and matches their NIR-less records by it', async () => {
    const cnaf = path.join(work, 'caf-stock.xml')
    await writeCnafFile(cnaf, { flow: 'caf', seed: 'match', typeflux: 'M', foyers: 40, dtcreaflux: '2026-10-20' })
    const loaded = await ingestFile(deps, declarations.flows.get('caf-beneficiaires')!, { path: cnaf, name: 'caf-stock.xml', source: 'local', modifiedAt: new Date('2026-10-20T01:00:00Z') })
    expect(loaded.status).toBe('loaded')
    const adults = Array.from({ length: 40 }, (_, i) => adultsOf(foyer('match', i))).flat().filter((p) => p.nir13 !== undefined)
    const persons = await q<{ match_key: string; identity_index: string | null }>('select match_key, identity_index from persons')
    const byKey = new Map(persons.map((p) => [p.match_key, p.identity_index]))
    for (const a of adults) {
      expect(byKey.get(personMatchKey(keys.index, a.nir13!, a.dtnai))).toBe(identityIndex(keys.index, { nomNaissance: a.nomnai, prenom: a.prenom, dateNaissance: a.dtnai }))
    }
    const lines = adults.map((a, i) => `9${pad(i, 6)}X${pad(i, 3)};;${a.nomnai.toLowerCase()};${a.prenom};${a.dtnai};2026-10-25;93001`)
    const outcome = await ingest('essai-sans-nir', 'suivi-caf.csv', [HEADER, ...lines].join('\n') + '\n')
    const unique = new Set<string>()
    const seen = new Map<string, number>()
    for (const p of persons) if (p.identity_index) seen.set(p.identity_index, (seen.get(p.identity_index) ?? 0) + 1)
    for (const a of adults) if (seen.get(identityIndex(keys.index, { nomNaissance: a.nomnai, prenom: a.prenom, dateNaissance: a.dtnai })!) === 1) unique.add(a.nir13!)
    expect(outcome).toMatchObject({ status: 'loaded', rejected: 0, matching: { identifier: 0, identity: unique.size, queued: adults.length - unique.size } })
    expect(unique.size).toBeGreaterThan(30)
    const stored = await q<{ person_key: string }>(`select person_key from france_travail_registrations where file_id = $1`, [outcome.fileId])
    expect(new Set(stored.map((r) => r.person_key))).toEqual(new Set(adults.filter((a) => unique.has(a.nir13!)).map((a) => personMatchKey(keys.index, a.nir13!, a.dtnai))))
  })

  describe('10,000 records of which 200 name homonyms', () => {
    const N = 10_000
    const HOMONYMS = 200
    const identity = (i: number) => ({ nom: `${SENTINEL}${letters(i)}`, prenom: PRENOMS[i % 4]!, dtnai: `19${pad(50 + (i % 50), 2)}-${pad(1 + (i % 12), 2)}-${pad(1 + (i % 28), 2)}` })
    const keyOf = (i: number) => `test-person-${i}`
    const identifier = (i: number) => `${pad(i, 7)}A${pad(i % 1000, 3)}`
    /** The file spells names as France Travail might: case, hyphens, accents differ from the CAF's spelling. */
    const line = (i: number, date = '2026-11-02') => {
      const id = identity(i)
      const nom = i % 3 === 0 ? id.nom.toLowerCase() : i % 3 === 1 ? `${id.nom.slice(0, SENTINEL.length + 2)}-${id.nom.slice(SENTINEL.length + 2)}` : id.nom
      return `${identifier(i)};NULL;${nom};${id.prenom[0]};${id.dtnai};${date};93012`
    }
    const file = (indices: readonly number[], date?: string) => [HEADER, ...indices.map((i) => line(i, date))].join('\n') + '\n'
    const all = Array.from({ length: N }, (_, i) => i)
    let firstFileId: number

    const snapshot = async () => ({
      queue: await q(`select id, flow_id, queue_key, reason, candidates, encode(identity_sealed, 'hex') as sealed, registration, file_id, state, updated_at from matching_queue order by id`),
      registrations: await q(`select person_key, identifiant_pe, etat, date_etat::text, ale from france_travail_registrations order by person_key`),
      stateChanges: await q<{ n: number }>('select count(*)::int as n from state_changes'),
      links: await q('select person_id, identifier_index, source from france_travail_links order by person_id'),
    })

    beforeAll(async () => {
      for (const table of ['matching_queue', 'france_travail_registrations', 'france_travail_links', 'state_changes']) await t.db.query(`delete from ${table}`)
      const { rows } = await t.db.query<{ id: number }>(
        `insert into files (flow_id, name, size, sha256, status, source, started_at, transmitted_at) values ('caf-beneficiaires', 'seed', 1, 'seed', 'loaded', 'local', now(), now()) returning id`,
      )
      const fileId = rows[0]!.id
      // The active base: the 10,000 persons the file names, plus a homonym born the same day for the first 200.
      const persons = all.map((i) => {
        const id = identity(i)
        return [keyOf(i), identityIndex(keys.index, { nomNaissance: id.nom, prenom: id.prenom[1], dateNaissance: id.dtnai }), fileId, new Date('2026-10-01T00:00:00Z')]
      })
      for (let i = 0; i < HOMONYMS; i++) {
        const id = identity(i)
        persons.push([`test-homonym-${i}`, identityIndex(keys.index, { nomNaissance: id.nom, prenom: id.prenom[1], dateNaissance: id.dtnai }), fileId, new Date('2026-10-01T00:00:00Z')])
      }
      await t.db.copyRows('persons', ['match_key', 'identity_index', 'file_id', 'transmitted_at'], persons)
    })

    it('links the 9,800 unique identities to the right person, queues the 200 homonyms, and no name is stored', async () => {
      const outcome = await ingest('essai-sans-nir', 'suivi-10000.csv', file(all))
      expect(outcome).toMatchObject({ status: 'loaded', accepted: N, rejected: 0, matching: { identifier: 0, identity: N - HOMONYMS, queued: HOMONYMS } })
      firstFileId = outcome.fileId!
      const files = await q('select records_matched_identifier, records_matched_identity, records_queued from files where id = $1', [firstFileId])
      expect(files).toEqual([{ records_matched_identifier: 0, records_matched_identity: N - HOMONYMS, records_queued: HOMONYMS }])
      // 0 wrong links: each stored registration is the person its identifier was written for.
      const stored = await q<{ person_key: string; identifiant_pe: string }>('select person_key, identifiant_pe from france_travail_registrations')
      expect(stored).toHaveLength(N - HOMONYMS)
      const wrong = stored.filter((r) => r.person_key !== keyOf(Number(r.identifiant_pe.slice(0, 7))))
      expect(wrong).toEqual([])
      expect(stored.some((r) => Number(r.identifiant_pe.slice(0, 7)) < HOMONYMS)).toBe(false)
      const queued = await listQueue(t.db, { limit: 1000 })
      expect(queued).toHaveLength(HOMONYMS)
      expect(queued.every((r) => r.reason === 'ambiguous' && r.candidates.length === 2 && r.hasIdentifier)).toBe(true)
      const dump = await everything()
      expect(dump).not.toContain(SENTINEL)
      expect(dump.toUpperCase()).not.toContain(SENTINEL)
      expect(logged.join('')).not.toContain(SENTINEL)
      expect(logged.join('')).toContain('"queued":200')
    })

    it('changes nothing when the file is loaded again, under its name or another', async () => {
      const before = await snapshot()
      const again = await ingest('essai-sans-nir', 'suivi-10000.csv', file(all))
      expect(again).toMatchObject({ status: 'skipped', code: 'already_loaded' })
      const renamed = await ingest('essai-sans-nir', 'suivi-10000-copie.csv', file(all))
      expect(renamed).toMatchObject({ status: 'loaded', matching: { identity: N - HOMONYMS, queued: HOMONYMS } })
      const after = await snapshot()
      expect(after.queue).toEqual(before.queue)
      expect(after.registrations).toEqual(before.registrations)
      expect(after.stateChanges).toEqual(before.stateChanges)
      expect(after.links).toEqual(before.links)
    })

    it('applies a linked record at once, and matches it by identifier in later files; a discarded one comes back', async () => {
      const [first, second] = await listQueue(t.db, { limit: 2 })
      const target = Number(JSON.parse(JSON.stringify((await q<{ registration: { identifiant_pe: string } }>('select registration from matching_queue where id = $1', [first!.id]))[0]!.registration)).identifiant_pe.slice(0, 7))
      const [person] = await q<{ public_id: string }>('select public_id::text as public_id from persons where match_key = $1', [keyOf(target)])
      const linked = await linkQueued(t.db, { keys, purposes: new Map() }, { id: first!.id, personPublicId: person!.public_id, actor: 'operator@test', now: new Date('2026-11-03T09:00:00Z'), via: 'cli' })
      expect(linked).toMatchObject({ registrationApplied: true, identifierLinked: true })
      expect(await q('select etat, date_etat::text as date_etat from france_travail_registrations where person_key = $1', [keyOf(target)])).toEqual([{ etat: 'inscription', date_etat: '2026-11-02' }])
      await expect(linkQueued(t.db, { keys, purposes: new Map() }, { id: first!.id, personPublicId: person!.public_id, actor: 'operator@test', now: new Date(), via: 'cli' })).rejects.toThrow(/already linked/)
      await discardQueued(t.db, { id: second!.id, actor: 'operator@test', now: new Date('2026-11-03T09:05:00Z'), via: 'cli' })
      const resolved = await q<{ state: string; identity_sealed: unknown; registration: unknown }>('select state, identity_sealed, registration from matching_queue where id = any($1::bigint[]) order by id', [[first!.id, second!.id]])
      expect(resolved).toEqual([
        { state: 'linked', identity_sealed: null, registration: null },
        { state: 'discarded', identity_sealed: null, registration: null },
      ])
      const events = await q<{ action: string; details: { queueId: number } }>(`select action, details from audit_events where action like 'matching.%' order by seq`)
      expect(events.map((e) => [e.action, e.details.queueId])).toEqual([
        ['matching.link', first!.id],
        ['matching.discard', second!.id],
      ])

      const discardedTarget = (await q<{ identifier_index: string }>('select identifier_index from matching_queue where id = $1', [second!.id]))[0]!.identifier_index
      const discardedI = all.find((i) => franceTravailIdentifierIndex(keys.index, identifier(i)) === discardedTarget)!
      const later = await ingest('essai-sans-nir', 'suivi-decembre.csv', file([target, discardedI], '2026-12-01'), new Date('2026-12-01T08:00:00Z'))
      expect(later).toMatchObject({ status: 'loaded', matching: { identifier: 1, identity: 0, queued: 1 } })
      expect(await q('select date_etat::text as date_etat from france_travail_registrations where person_key = $1', [keyOf(target)])).toEqual([{ date_etat: '2026-12-01' }])
      expect(await q<{ n: number }>(`select count(*)::int as n from matching_queue where state = 'pending'`)).toEqual([{ n: HOMONYMS - 1 }])
    })

    it('queues a record whose only namesake is linked to another France Travail identifier, and rejects one with no identity', async () => {
      // Person 500 is linked (through a record with a NIR) to identifier(500); a record naming another identifier with
      // person 500's identity is someone else as far as France Travail knows.
      const [p] = await q<{ id: number }>('select id from persons where match_key = $1', [keyOf(500)])
      await t.db.query(`insert into france_travail_links (person_id, identifier_index, source) values ($1, $2, 'api') on conflict do nothing`, [p!.id, franceTravailIdentifierIndex(keys.index, identifier(500))])
      const id = identity(500)
      const other = `9999999Z999;NULL;${id.nom};${id.prenom[0]};${id.dtnai};2026-12-02;93012`
      const nameless = `9999998Z998;NULL;NULL;${id.prenom[0]};${id.dtnai};2026-12-02;93012`
      const outcome = await ingest('essai-sans-nir', 'suivi-conflit.csv', [HEADER, other, nameless].join('\n') + '\n', new Date('2026-12-02T08:00:00Z'))
      expect(outcome).toMatchObject({ status: 'loaded', accepted: 1, rejected: 1, matching: { identifier: 0, identity: 0, queued: 1 } })
      expect(await q('select field, rule from rejections where file_id = $1', [outcome.fileId])).toEqual([{ field: 'nom_naissance', rule: 'identity_incomplete' }])
      expect(await q(`select reason, candidates from matching_queue where file_id = $1`, [outcome.fileId])).toEqual([{ reason: 'identifier_conflict', candidates: 1 }])
    })

    it('shows the identity to an admin or the DPO only, decrypted in the answer, and resolves through the API', async () => {
      const purposes = testPurposes()
      const now = new Date('2026-12-03T10:00:00Z')
      const world = await buildWorld(t.db, keys, purposes, now)
      const app = createApp({ db: t.db, keys, purposes, audit: new AuditWriter(t.db), now: () => now })
      const call = async (method: string, url: string, token: string, body?: unknown) => {
        const res = await app.request(url, { method, headers: { Authorization: `Bearer ${token}`, ...(body ? { 'Content-Type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined })
        return { status: res.status, body: (await res.json()) as any }
      }
      expect((await call('GET', '/v1/matching-queue', world.tokens.refA1!)).status).toBe(404)
      const list = await call('GET', '/v1/matching-queue?limit=500', world.tokens.dpo!)
      expect(list.status).toBe(200)
      const item = list.body.items.find((i: any) => i.reason === 'ambiguous')
      expect(item.identity.nomNaissance).toMatch(new RegExp(`^${SENTINEL}`, 'i'))
      expect(item.candidates).toHaveLength(2)
      const bad = await call('POST', `/v1/matching-queue/${item.id}/resolution`, world.tokens.admin!, { decision: 'link', beneficiaireId: '0b9f3c1e-4d2a-4e8b-9a57-2f3c6d7e8f90' })
      expect(bad).toMatchObject({ status: 400, body: { error: { code: 'unknown_beneficiaire' } } })
      const done = await call('POST', `/v1/matching-queue/${item.id}/resolution`, world.tokens.admin!, { decision: 'link', beneficiaireId: item.candidates[0] })
      expect(done).toMatchObject({ status: 200, body: { decision: 'link', beneficiaireId: item.candidates[0], registrationApplied: true, identifierLinked: true } })
      expect((await call('POST', `/v1/matching-queue/${item.id}/resolution`, world.tokens.admin!, { decision: 'discard' })).status).toBe(409)
      const audit = await q<{ text: string }>(`select row_to_json(a)::text as text from audit_events a where action like '%matching%'`)
      expect(audit.map((a) => a.text).join('\n').toUpperCase()).not.toContain(SENTINEL)
    })

    it('purges queue rows past their own retention policy, with a receipt', async () => {
      const pending = (await q<{ n: number }>('select count(*)::int as n from matching_queue'))[0]!.n
      expect(pending).toBeGreaterThan(0)
      const soon = await runRetention({ db: t.db, keys, log: createLogger({ level: 'silent' }), declarations }, { now: new Date('2027-01-15T12:00:00Z'), dryRun: false })
      expect(soon.policies.find((p) => p.id === 'matching-queue')!.destroyed).toEqual({ matching_queue: 0 })
      const late = await runRetention({ db: t.db, keys, log: createLogger({ level: 'silent' }), declarations }, { now: new Date('2027-04-15T12:00:00Z'), dryRun: false })
      expect(late.policies.find((p) => p.id === 'matching-queue')!.destroyed).toEqual({ matching_queue: pending })
      expect(await q('select count(*)::int as n from matching_queue')).toEqual([{ n: 0 }])
      const receipts = await q<{ details: { counts: Record<string, number> } }>(`select details from audit_events where action = 'retention.destroy' and details->'counts' ? 'matching_queue'`)
      expect(receipts.reduce((n, r) => n + r.details.counts.matching_queue!, 0)).toBe(pending)
    })
  })
})
