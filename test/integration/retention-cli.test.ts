import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { auditDossierSubject } from '../../src/audit/subject-pseudonym.ts'
import { TEST_AUDIT_SIGNING_KEY, testKeys } from '../../src/crypto/keys.ts'
import type { Db } from '../../src/db/db.ts'
import type { RetentionReport } from '../../src/retention/run-retention.ts'
import { inspectCliDatabase, postgresUnavailable, seedCliTestDatabase, type TestDatabase } from '../helpers/database.ts'
import { REPO_ROOT } from '../helpers/ingest.ts'
import { day, seedDossier, type SeedPerson } from '../helpers/retention-seed.ts'

/**
 * `passerelle retention`, `passerelle hold add|list|release` and `passerelle archive show` as a DPO runs them, in
 * child processes against a real database: dry runs change nothing, forecasts need --dry-run, a legal hold keeps an
 * archived dossier from destruction until released, the break-glass read is audited and needs a reason. No output
 * names a person, except the break-glass read, which prints the archived fields of the one dossier asked for.
 *
 * Dates are seeded relative to the current year (the runs without --as-of use the real date): rights closed eleven
 * years ago are past the active and archive phases (36 months + 6 years from the end of the right), four years ago
 * past the active phase only, two years ago still active.
 */
const parisDay = (d: Date) => new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/Paris', year: 'numeric', month: '2-digit', day: '2-digit' }).format(d)
const Y = Number(parisDay(new Date()).slice(0, 4))

interface Seeded {
  numdemrsa: string
  dateCloture: string | null
  transmittedAt: string
  persons: (SeedPerson & { label: string })[]
}

// Synthetic people, with values that cannot occur by chance in a report (no 20xx day as a birth date).
const WORLD: Record<'held' | 'free' | 'recent' | 'later' | 'open', Seeded> = {
  held: {
    numdemrsa: 'HELD0001',
    dateCloture: `${Y - 11}-01-31`,
    transmittedAt: `${Y - 11}-02-05`,
    persons: [{ label: 'held DEM', nir13: '1610375123457', birthDate: '1961-03-17', nom: 'QUERVILLAC', prenom: 'ANSELMINE' }],
  },
  free: {
    numdemrsa: 'FREE0001',
    dateCloture: `${Y - 11}-01-31`,
    transmittedAt: `${Y - 11}-02-05`,
    persons: [{ label: 'free DEM', nir13: '1720869234561', birthDate: '1972-08-09', nom: 'BRONDESSAC', prenom: 'THEODULFE' }],
  },
  recent: {
    numdemrsa: 'RECENT01',
    dateCloture: `${Y - 4}-06-30`,
    transmittedAt: `${Y - 4}-07-05`,
    persons: [
      { label: 'recent DEM', nir13: '1581133345672', birthDate: '1958-11-02', nom: 'MORTAGNEUX', prenom: 'EULALIEN' },
      { label: 'recent CJT', nir13: '2830544456783', birthDate: '1963-05-26', nom: 'VELDRAUCHE', prenom: 'PERPETUINE', role: 'CJT' },
    ],
  },
  later: {
    numdemrsa: 'LATER001',
    dateCloture: `${Y - 2}-12-31`,
    transmittedAt: `${Y - 1}-01-06`,
    persons: [{ label: 'later DEM', nir13: '1901275567894', birthDate: '1990-12-14', nom: 'GRISONNAT', prenom: 'ODILBERT' }],
  },
  open: {
    numdemrsa: 'OPEN0001',
    dateCloture: null,
    transmittedAt: `${Y - 1}-03-01`,
    persons: [{ label: 'open DEM', nir13: '2690713678905', birthDate: '1969-07-21', nom: 'FALCOURDIN', prenom: 'ROSEMONDE' }],
  },
}
const PEOPLE = Object.values(WORLD).flatMap((d) => d.persons)

/** Labels (never values) of the seeded personal values found in `text`, skipping the persons of `allowed`. */
function leaks(text: string, allowed: Seeded[] = []): string[] {
  const skip = new Set(allowed.flatMap((d) => d.persons))
  return PEOPLE.filter((p) => !skip.has(p)).flatMap((p) =>
    (
      [
        ['nir', p.nir13],
        ['birth date', p.birthDate],
        ['nom', p.nom],
        ['prenom', p.prenom],
      ] as const
    )
      .filter(([, v]) => text.includes(v))
      .map(([k]) => `${p.label} ${k}`),
  )
}

const COUNTED = [
  'dossiers',
  'dossier_members',
  'persons',
  'state_changes',
  'france_travail_registrations',
  'archive.dossiers',
  'archive.dossier_members',
  'archive.persons',
  'archive.state_changes',
  'archive.france_travail_registrations',
  'legal_holds',
  'audit_events',
]

// Each command is a process that opens the database (the embedded one takes seconds): generous timeouts.
describe.skipIf(postgresUnavailable())('passerelle retention, hold, archive (CLI)', { timeout: 420_000 }, () => {
  const keys = testKeys()
  const work = mkdtempSync(path.join(tmpdir(), 'passerelle-retention-cli-'))
  let t: TestDatabase | undefined
  const ids = new Map<Seeded, { dossier: number; persons: number[] }>()
  const env: Record<string, string> = {
    PASSERELLE_DATA_DIR: path.join(work, 'data'),
    PASSERELLE_NIR_KEY: keys.nir.toString('base64'),
    PASSERELLE_INDEX_KEY: keys.index.toString('base64'),
    PASSERELLE_PSEUDONYM_KEY: keys.pseudonym.toString('base64'),
    PASSERELLE_AUDIT_SIGNING_KEY: TEST_AUDIT_SIGNING_KEY,
    PASSERELLE_ACTOR: 'cli:dpo-test',
    LOG_LEVEL: 'silent',
  }
  const run = (args: string[]) => {
    const r = spawnSync(process.execPath, [path.join(REPO_ROOT, 'bin/passerelle.js'), ...args], {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH, ...env },
      encoding: 'utf8',
      timeout: 120_000,
    })
    return { status: r.status, out: r.stdout, err: r.stderr + (r.error ? `\n[spawn] ${r.error.message}` : '') }
  }
  /** Reads the database between commands: the PGlite directory admits one process at a time, so open and close. */
  const inspect = <T>(fn: (db: Db) => Promise<T>): Promise<T> => inspectCliDatabase(t, env.PASSERELLE_DATA_DIR!, fn)

  const snapshot = () =>
    inspect(async (db) => {
      const out: Record<string, number> = {}
      for (const table of COUNTED) out[table] = (await db.query<{ n: number }>(`select count(*)::int as n from ${table}`)).rows[0]!.n
      return out
    })
  const numdemrsas = (db: Db, table: 'dossiers' | 'archive.dossiers') =>
    db.query<{ numdemrsa: string }>(`select numdemrsa from ${table} order by numdemrsa`).then((r) => r.rows.map((x) => x.numdemrsa))
  const personIds = (db: Db, table: 'persons' | 'archive.persons') =>
    db.query<{ id: number }>(`select id from ${table} order by id`).then((r) => r.rows.map((x) => Number(x.id)))
  const destroyReceipts = (db: Db) =>
    db
      .query<{ details: { policy: string; phase: string; counts: Record<string, number>; ids: { count: number; sha256: string } } }>(
        `select details from audit_events where action = 'retention.destroy' and details->>'policy' = 'rsa-beneficiaires' order by seq`,
      )
      .then((r) => r.rows.map((x) => x.details))
  const sum = (receipts: { counts: Record<string, number> }[], table: string) => receipts.reduce((n, r) => n + (r.counts[table] ?? 0), 0)
  const rsa = (report: RetentionReport) => report.policies.find((p) => p.id === 'rsa-beneficiaires')!
  const sortedIds = (...ds: Seeded[]) => ds.flatMap((d) => ids.get(d)!.persons).sort((a, b) => a - b)

  beforeAll(async () => {
    t = await seedCliTestDatabase(env, async (db) => {
      for (const d of Object.values(WORLD)) {
        const seeded = await seedDossier(db, keys, {
          numdemrsa: d.numdemrsa,
          etatDroit: d.dateCloture ? '5' : '2',
          dateCloture: d.dateCloture,
          transmittedAt: day(d.transmittedAt),
          persons: d.persons,
        })
        ids.set(d, { dossier: seeded.id, persons: seeded.persons.map((p) => Number(p.id)) })
      }
    })
  })
  afterAll(async () => {
    await t?.drop()
    rmSync(work, { recursive: true, force: true })
  })

  it('retention --dry-run reports what is due per policy, forecasts with --as-of, and changes nothing; bad options are refused', async () => {
    const before = await snapshot()
    expect(before).toMatchObject({ dossiers: 5, persons: 6, 'archive.dossiers': 0, legal_holds: 0, audit_events: 0 })
    const today = parisDay(new Date())

    const dry = run(['retention', '--dry-run', '--json'])
    expect(dry.err).toBe('')
    expect(dry.status).toBe(0)
    const report = JSON.parse(dry.out) as RetentionReport
    expect(report).toMatchObject({ dryRun: true, ok: true, errors: [] })
    expect([today, parisDay(new Date())]).toContain(report.today)
    expect(report.policies.map((p) => p.id)).toEqual(expect.arrayContaining(['rsa-beneficiaires', 'france-travail', 'audit-log', 'rejections', 'api-tokens']))
    // HELD, FREE (closed eleven years ago) and RECENT (four years ago) leave the active base; HELD and FREE are past
    // the archive phase too, so destroyed as soon as archived; the archive is still empty.
    expect(rsa(report)).toMatchObject({
      flows: expect.arrayContaining(['caf-beneficiaires', 'msa-beneficiaires']),
      archived: { dossiers: 3, france_travail_registrations: 0, orphan_persons: 0 },
      destroyed: { 'archive.dossiers': 0, 'archive.persons': 0, 'archive.france_travail_registrations': 0 },
      alsoDestroyedOnArchiving: 2,
      heldBack: 0,
    })
    expect(rsa(report).active).toMatchObject({ duration: 'P36M', anchor: 'end_of_right' })
    expect(rsa(report).archive).toMatchObject({ duration: 'P6Y', anchor: 'end_of_right' })

    const text = run(['retention', '--dry-run'])
    expect(text.status).toBe(0)
    expect(text.out).toMatch(/^retention for \d{4}-\d\d-\d\d \(dry run: nothing changed\), run [0-9a-f-]{36}\n/)
    expect(text.out).toMatch(/\nrsa-beneficiaires \(flow-data\), flows: [^\n]*\bcaf-beneficiaires\b[^\n]*\bmsa-beneficiaires\b/)
    expect(text.out).toMatch(/\n {2}would archive: dossiers 3, france_travail_registrations 0, orphan_persons 0\n {2}would destroy: archive\.dossiers 0, archive\.persons 0, archive\.france_travail_registrations 0 \(\+2 due as soon as archived\)\n/)

    // Three years on, LATER leaves the active base too and RECENT's archive phase is over.
    const forecast = run(['retention', '--dry-run', '--as-of', `${Y + 3}-01-01`, '--json'])
    expect(forecast.err).toBe('')
    expect(forecast.status).toBe(0)
    const future = JSON.parse(forecast.out) as RetentionReport
    expect(future).toMatchObject({ dryRun: true, ok: true, today: `${Y + 3}-01-01` })
    expect(rsa(future)).toMatchObject({ archived: { dossiers: 4 }, alsoDestroyedOnArchiving: 3 })
    expect(rsa(future).active.anchorCutoff > rsa(report).active.anchorCutoff).toBe(true)

    const applyAsOf = run(['retention', '--as-of', `${Y + 3}-01-01`])
    expect(applyAsOf.status).toBe(1)
    expect(applyAsOf.out).toBe('')
    expect(applyAsOf.err).toMatch(/--as-of forecasts only: add --dry-run/)
    const badDay = run(['retention', '--dry-run', '--as-of', `${Y}-02-30`])
    expect(badDay.status).toBe(1)
    expect(badDay.err).toMatch(/--as-of: ".*" is not a date \(YYYY-MM-DD\)/)
    const refused: [string[], RegExp][] = [
      [['--chunk-size', '0'], /--chunk-size must be a positive integer/],
      [['--chunk-size', 'many'], /--chunk-size must be a positive integer/],
      [['--pause-ms=-5'], /--pause-ms must be a whole number of milliseconds/],
      [['--pause-ms', 'soon'], /--pause-ms must be a whole number of milliseconds/],
      [['--pause-ratio', '11'], /--pause-ratio must be a number from 0 to 10/],
      [['--pause-ratio', 'half'], /--pause-ratio must be a number from 0 to 10/],
      [['--pause-ratio=-0.5'], /--pause-ratio must be a number from 0 to 10/],
    ]
    const bad = refused.map(([args, message]) => ({ args, message, r: run(['retention', ...args]) }))
    for (const { args, message, r } of bad) {
      expect([args.join(' '), r.status]).toEqual([args.join(' '), 1])
      expect(r.out).toBe('')
      expect(r.err).toMatch(message)
    }

    expect(await snapshot()).toEqual(before)
    for (const r of [dry, text, forecast, applyAsOf, badDay, ...bad.map((b) => b.r)]) expect(leaks(r.out + r.err)).toEqual([])
  })

  it('hold add, hold list; retention archives the held dossier but destroys only the unheld one; after hold release it is destroyed', async () => {
    const outputs: { out: string; err: string }[] = []
    const cmd = (args: string[]) => {
      const r = run(args)
      outputs.push(r)
      return r
    }
    const subject = auditDossierSubject(keys.pseudonym, 'CAF', WORLD.held.numdemrsa)

    const unknown = cmd(['hold', 'add', '--dossier', 'NOPE0001', '--reason', 'contentieux en cours'])
    expect(unknown.status).toBe(1)
    expect(unknown.err).toMatch(/no dossier with this NUMDEMRSA/)
    const noReason = cmd(['hold', 'add', '--dossier', WORLD.held.numdemrsa, '--reason', ' '])
    expect(noReason.status).toBe(1)
    expect(noReason.err).toMatch(/needs a reason/)

    const added = cmd(['hold', 'add', '--dossier', WORLD.held.numdemrsa, '--reason', 'contentieux devant le tribunal administratif', '--reference', 'TA-2026-001'])
    expect(added.err).toBe('')
    expect(added.status).toBe(0)
    expect(added.out).toBe(`legal hold #1 added (CAF, subject ${subject})\n`)

    const listed = cmd(['hold', 'list'])
    expect(listed.status).toBe(0)
    expect(listed.out).toMatch(
      new RegExp(`^#1 CAF ${subject} since \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d \\(UTC\\+0[12]:00\\) by cli:dpo-test ref TA-2026-001 STANDING\\n {2}reason: contentieux devant le tribunal administratif\\n$`),
    )
    // The dossier number is not listed: the pseudonym and the reference identify a hold.
    expect(listed.out).not.toContain(WORLD.held.numdemrsa)
    const json = cmd(['hold', 'list', '--json'])
    const holds = JSON.parse(json.out) as Record<string, unknown>[]
    expect(holds).toHaveLength(1)
    expect(holds[0]).toMatchObject({ id: 1, organisme: 'CAF', dossierSubject: subject, reference: 'TA-2026-001', createdBy: 'cli:dpo-test', releasedAt: null })
    expect(holds[0]).not.toHaveProperty('numdemrsa')
    expect(cmd(['hold', 'list', '--dossier', WORLD.free.numdemrsa]).out).toBe('no legal hold\n')
    expect(cmd(['hold', 'list', '--dossier', WORLD.held.numdemrsa]).out).toMatch(/^#1 CAF /)

    await inspect(async (db) => {
      const hold = (await db.query<{ numdemrsa: string | null; released_at: unknown }>('select numdemrsa, released_at from legal_holds')).rows
      expect(hold).toEqual([{ numdemrsa: WORLD.held.numdemrsa, released_at: null }])
      const audit = (await db.query<{ action: string; actor: string; subject: string }>(`select action, actor, subject from audit_events order by seq`)).rows
      expect(audit).toEqual([{ action: 'retention.hold.add', actor: 'cli:dpo-test', subject }])
    })

    const applied = cmd(['retention'])
    expect(applied.err).toBe('')
    expect(applied.status).toBe(0)
    expect(applied.out).toMatch(/^retention for \d{4}-\d\d-\d\d, run [0-9a-f-]{36}\n/)
    expect(applied.out).not.toContain('dry run')
    expect(applied.out).toMatch(/\n {2}archived: dossiers 3, dossier_members 4, persons 4, state_changes 3, france_travail_registrations 0, assignments 0\n/)
    expect(applied.out).toMatch(/\n {2}destroyed: archive\.dossiers 1, [^\n]*\n {2}held back by legal holds: 1\n/)
    expect(applied.out).not.toMatch(/ERROR/)

    await inspect(async (db) => {
      // FREE is gone for good; HELD is archived and kept; RECENT is archived; LATER and OPEN stay active.
      expect(await numdemrsas(db, 'dossiers')).toEqual([WORLD.later.numdemrsa, WORLD.open.numdemrsa])
      expect(await numdemrsas(db, 'archive.dossiers')).toEqual([WORLD.held.numdemrsa, WORLD.recent.numdemrsa])
      expect(await personIds(db, 'archive.persons')).toEqual(sortedIds(WORLD.held, WORLD.recent))
      expect(await personIds(db, 'persons')).toEqual(sortedIds(WORLD.later, WORLD.open))
      const receipts = await destroyReceipts(db)
      expect(receipts.length).toBeGreaterThan(0)
      expect(sum(receipts, 'archive.dossiers')).toBe(1)
      expect(sum(receipts, 'archive.persons')).toBe(1)
      for (const r of receipts) {
        expect(r.phase).toBe('archive')
        expect(r.ids.sha256).toMatch(/^[0-9a-f]{64}$/)
      }
      const archived = (await db.query<{ n: number }>(`select coalesce(sum((details->'counts'->>'dossiers')::int), 0)::int as n from audit_events where action = 'retention.archive' and details->>'policy' = 'rsa-beneficiaires'`)).rows[0]!.n
      expect(archived).toBe(3)
      const receiptText = JSON.stringify((await db.query(`select * from audit_events where action like 'retention.%'`)).rows)
      expect(leaks(receiptText)).toEqual([])
      expect(receiptText).not.toContain(WORLD.free.numdemrsa)
    })

    const released = cmd(['hold', 'release', '1', '--reason', 'jugement définitif'])
    expect(released.err).toBe('')
    expect(released.status).toBe(0)
    expect(released.out).toBe('legal hold #1 released\n')
    const again = cmd(['hold', 'release', '1'])
    expect(again.status).toBe(1)
    expect(again.err).toMatch(/legal hold #1 is already released/)
    expect(cmd(['hold', 'list']).out).toBe('no legal hold\n')
    expect(cmd(['hold', 'list', '--all']).out).toMatch(/^#1 CAF d_\S+ since .+? by cli:dpo-test ref TA-2026-001 released \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \(UTC\+0[12]:00\) by cli:dpo-test\n/)

    const second = cmd(['retention', '--json'])
    expect(second.err).toBe('')
    expect(second.status).toBe(0)
    const report = JSON.parse(second.out) as RetentionReport
    expect(report).toMatchObject({ dryRun: false, ok: true, errors: [] })
    expect(rsa(report).archived).toMatchObject({ dossiers: 0 })
    expect(rsa(report).destroyed).toMatchObject({ 'archive.dossiers': 1, 'archive.persons': 1 })
    expect(rsa(report).heldBack).toBe(0)

    await inspect(async (db) => {
      expect(await numdemrsas(db, 'archive.dossiers')).toEqual([WORLD.recent.numdemrsa])
      expect(await personIds(db, 'archive.persons')).toEqual(sortedIds(WORLD.recent))
      expect(await numdemrsas(db, 'dossiers')).toEqual([WORLD.later.numdemrsa, WORLD.open.numdemrsa])
      const receipts = await destroyReceipts(db)
      expect(sum(receipts, 'archive.dossiers')).toBe(2)
      expect(sum(receipts, 'archive.persons')).toBe(2)
      // Once the dossier is destroyed, the released hold keeps only the pseudonym.
      const hold = (await db.query<{ numdemrsa: string | null; dossier_subject: string; released_by: string }>('select numdemrsa, dossier_subject, released_by from legal_holds')).rows
      expect(hold).toEqual([{ numdemrsa: null, dossier_subject: subject, released_by: 'cli:dpo-test' }])
      const holdEvents = (await db.query<{ action: string; subject: string }>(`select action, subject from audit_events where action like 'retention.hold.%' order by seq`)).rows
      expect(holdEvents).toEqual([
        { action: 'retention.hold.add', subject },
        { action: 'retention.hold.release', subject },
      ])
    })

    for (const r of outputs) expect(leaks(r.out + r.err)).toEqual([])
  })

  it('archive show prints an archived dossier, audited with the reason; refused without a reason', async () => {
    const events = (db: Db) =>
      db
        .query<{ actor: string; purpose: string; outcome: string; subject: string; details: Record<string, unknown> }>(
          `select actor, purpose, outcome, subject, details from audit_events where action = 'archive.show' order by seq`,
        )
        .then((r) => r.rows)
    const recentSubject = auditDossierSubject(keys.pseudonym, 'CAF', WORLD.recent.numdemrsa)

    const missing = run(['archive', 'show', '--dossier', WORLD.recent.numdemrsa])
    expect(missing.status).toBe(1)
    expect(missing.out).toBe('')
    expect(missing.err).toMatch(/required option '--reason <text>' not specified/)
    const short = run(['archive', 'show', '--dossier', WORLD.recent.numdemrsa, '--reason', 'parce que'])
    expect(short.status).toBe(1)
    expect(short.out).toBe('')
    expect(short.err).toMatch(/reading the archive needs a reason \(at least 10 characters\)/)
    expect(await inspect(events)).toEqual([])

    const reason = 'recours contentieux n° 2026-17 (tribunal administratif)'
    const shown = run(['archive', 'show', '--dossier', WORLD.recent.numdemrsa, '--reason', reason])
    expect(shown.err).toBe('')
    expect(shown.status).toBe(0)
    // Output of the break-glass read holds personal values: compare lines, never print it in a failure message.
    const lines = shown.out.split('\n')
    expect(/^archived dossier \(CAF, policy rsa-beneficiaires, archived \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \(UTC\+0[12]:00\)\) — this read is audited$/.test(lines[0]!)).toBe(true)
    const expected = [
      `  dossier.numdemrsa: ${WORLD.recent.numdemrsa}`,
      '  dossier.matricule: 1234567',
      '  dossier.etatDroit: 5',
      `  dossier.dateCloture: ${WORLD.recent.dateCloture}`,
      '  member 1:',
      '  member 2:',
      '    personne.role: DEM',
      '    personne.role: CJT',
    ]
    expect(expected.filter((l) => !lines.includes(l))).toEqual([])
    // The break-glass read prints the archived identity of this dossier's members (compared here without printing it)...
    for (const p of WORLD.recent.persons) {
      const printed = [`    personne.nir: ${p.nir13}00`, `    personne.nom: ${p.nom}`, `    personne.prenom: ${p.prenom}`, `    personne.dateNaissance: ${p.birthDate}`]
      expect(printed.map((l) => [p.label, l.split(':')[0], lines.includes(l)])).toEqual(printed.map((l) => [p.label, l.split(':')[0], true]))
    }
    // ...and nothing the archive does not keep (address, resources, payment suspension), nor anyone else.
    expect(shown.out.includes('RUE DES TESTS'), 'RUE DES TESTS').toBe(false)
    expect(shown.out.includes('adresse'), 'adresse').toBe(false)
    expect(shown.out.includes('512.3'), '512.3').toBe(false)
    expect(shown.out.includes('motifSuspensionVersement'), 'motifSuspensionVersement').toBe(false)
    expect(leaks(shown.out + shown.err, [WORLD.recent])).toEqual([])

    const notArchived = run(['archive', 'show', '--dossier', WORLD.open.numdemrsa, '--reason', reason])
    expect(notArchived.status).toBe(1)
    expect(notArchived.out).toBe('')
    expect(notArchived.err).toMatch(/this dossier is not in the archive/)
    const destroyed = run(['archive', 'show', '--dossier', WORLD.free.numdemrsa, '--reason', reason])
    expect(destroyed.status).toBe(1)
    expect(destroyed.err).toMatch(/no dossier with this NUMDEMRSA in the active base or the archive/)

    const audit = await inspect(events)
    // The reason is free text: the chained events keep its keyed digest, the text sits in audit_texts.
    const digest = { texts: { reason: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/) } }
    expect(audit).toEqual([
      { actor: 'cli:dpo-test', purpose: 'archive', outcome: 'granted', subject: recentSubject, details: { organisme: 'CAF', members: 2, ...digest } },
      { actor: 'cli:dpo-test', purpose: 'archive', outcome: 'failed', subject: auditDossierSubject(keys.pseudonym, 'CAF', WORLD.open.numdemrsa), details: { organisme: 'CAF', found: false, ...digest } },
    ])
    expect(await inspect(async (db) => (await db.query<{ body: string }>(`select body from audit_texts where field = 'reason' order by seq`)).rows.map((r) => r.body))).toEqual([reason, reason])
    for (const r of [missing, short, notArchived, destroyed]) expect(leaks(r.out + r.err)).toEqual([])
  })
})
