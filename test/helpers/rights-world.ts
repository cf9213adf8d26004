import { cpSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { personMatchKey } from '../../src/crypto/blind-index.ts'
import { testKeys, type Keys } from '../../src/crypto/keys.ts'
import type { Db } from '../../src/db/db.ts'
import { loadDeclarations, type Declarations } from '../../src/declarations/load-declarations.ts'
import { fileFlowsOnly } from './declarations.ts'
import { cnafFileName, writeCnafFile } from '../../src/fixtures/cnaf/write-cnaf-file.ts'
import { writeFranceTravailFile } from '../../src/fixtures/france-travail/write-france-travail-file.ts'
import { foyer, type Foyer, type Person } from '../../src/fixtures/population.ts'
import { ingestFile, type FileOutcome } from '../../src/ingestion/ingest-file.ts'
import { createLogger } from '../../src/log/logger.ts'
import type { RightsContext } from '../../src/rights/rights-request.ts'
import { REPO_ROOT } from './ingest.ts'

/**
 * Generated data for the data-subject rights tests: a CAF stock and a France Travail stock of the same synthetic
 * population, loaded through the real ingestion, and the people in it the tests act for. Every value is synthetic.
 */
export const SEED = 'rights'

/** Shipped mappings plus extra purpose declarations (`<id>.yaml` text), in a temporary directory. */
export function mappingsWith(extra: Record<string, string> = {}): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'passerelle-rights-mappings-'))
  cpSync(path.join(REPO_ROOT, 'mappings'), dir, { recursive: true })
  for (const [id, yaml] of Object.entries(extra)) writeFileSync(path.join(dir, `${id}.yaml`), yaml)
  return dir
}

/**
 * A consent-based test purpose (art. 6(1)(a), erasable): no shipped purpose is, so erasure is tested on this one.
 * It declares fields no shipped purpose stores (prenom3, the France Travail address), and shared ones.
 */
export const CONSENT_PURPOSE = `title: Atelier d'inclusion numérique (test)
title_en: Digital inclusion workshop (test)
description: Purpose of the rights tests, based on consent.
description_en: Purpose of the rights tests, based on consent.
controller: { name: Département de test, contact: dpd@test.example }
legal_basis: { gdpr: 6(1)(a), national: Consentement recueilli par le Département (test) }
data_subjects: [Bénéficiaires du RSA volontaires]
recipients:
  - { role: referent, organisation_types: [association] }
source_flows: [caf-beneficiaires, france-travail]
fields:
  - { field: personne.nom, as: nom }
  - { field: personne.prenom3, as: prenom3 }
  - { field: franceTravail.adresse, as: adresseFranceTravail }
  - { field: franceTravail.localite, as: localiteFranceTravail }
retention: rsa-beneficiaires
erasable: true
`

export interface Subject {
  foyerIndex: number
  person: Person
  nir13: string
  birthDate: string
  matchKey: string
  foyer: Foyer
}

/** Adults with a NIR of the first `foyers` foyers, in order (registered at France Travail first when asked). */
export function adults(foyers: number, options: { franceTravail?: boolean; withPartner?: boolean } = {}, keys: Keys = testKeys()): Subject[] {
  const out: Subject[] = []
  for (let i = 0; i < foyers; i++) {
    const f = foyer(SEED, i)
    const grownUps = f.personnes.filter((p) => (p.role === 'DEM' || p.role === 'CJT') && p.nir13 !== undefined)
    if (options.withPartner && grownUps.length < 2) continue
    for (const p of grownUps) {
      if (options.franceTravail && !p.franceTravail) continue
      out.push({ foyerIndex: i, person: p, nir13: p.nir13!, birthDate: p.dtnai, matchKey: personMatchKey(keys.index, p.nir13!, p.dtnai), foyer: f })
    }
  }
  return out
}

export interface LoadedWorld {
  declarations: Declarations
  caf: FileOutcome
  ft: FileOutcome
}

/** Writes and loads a CAF stock (foyers 0..n-1) dated `date`, then the France Travail stock of the same foyers. */
export async function loadPopulation(db: Db, keys: Keys, mappingsDir: string, foyers: number, date = '2026-03-02'): Promise<LoadedWorld> {
  // A world with purposes of its own: the partner-API flow sends under a shipped purpose it may not declare.
  const shippedMappings = path.resolve(mappingsDir) === path.join(REPO_ROOT, 'mappings')
  const declarations = loadDeclarations({ flowsDir: shippedMappings ? path.join(REPO_ROOT, 'flows') : fileFlowsOnly(mappingsDir), mappingsDir })
  const dir = mkdtempSync(path.join(tmpdir(), 'passerelle-rights-files-'))
  const deps = { db, keys, log: createLogger({ level: 'silent' }), stored: declarations.stored, purposes: declarations.purposes }
  const cafName = cnafFileName({ flow: 'caf', typeflux: 'M', dtcreaflux: date })
  await writeCnafFile(path.join(dir, cafName), { flow: 'caf', seed: SEED, typeflux: 'M', foyers, dtcreaflux: date })
  const caf = await ingestFile(deps, declarations.flows.get('caf-beneficiaires')!, { path: path.join(dir, cafName), name: cafName, source: 'local', modifiedAt: new Date(`${date}T03:00:00Z`) })
  const ftDate = nextDay(date)
  const written = await writeFranceTravailFile({ kind: 'stock', seed: SEED, foyers, date: ftDate, layout: 'extended' }, dir)
  const ft = await ingestFile(deps, declarations.flows.get('france-travail')!, { path: written.path!, name: written.fileName, source: 'local', modifiedAt: new Date(`${ftDate}T03:00:00Z`) })
  if (caf.status !== 'loaded' || ft.status !== 'loaded') throw new Error(`rights world: files not loaded (${caf.status}, ${ft.status})`)
  return { declarations, caf, ft }
}

/** Writes and loads a CAF daily file (TYPEFLUX=I) sending the given foyers as changed on `date`. */
export async function loadDaily(db: Db, keys: Keys, declarations: Declarations, indices: readonly number[], date: string): Promise<FileOutcome> {
  const dir = mkdtempSync(path.join(tmpdir(), 'passerelle-rights-daily-'))
  const name = cnafFileName({ flow: 'caf', typeflux: 'I', dtcreaflux: date })
  await writeCnafFile(path.join(dir, name), { flow: 'caf', seed: SEED, typeflux: 'I', indices, dtcreaflux: date })
  return ingestFile({ db, keys, log: createLogger({ level: 'silent' }), stored: declarations.stored, purposes: declarations.purposes }, declarations.flows.get('caf-beneficiaires')!, {
    path: path.join(dir, name),
    name,
    source: 'local',
    modifiedAt: new Date(`${date}T03:00:00Z`),
  })
}

export function nextDay(day: string): string {
  const d = new Date(`${day}T00:00:00Z`)
  d.setUTCDate(d.getUTCDate() + 1)
  return d.toISOString().slice(0, 10)
}

export function rightsContext(db: Db, declarations: Pick<Declarations, 'purposes'>, now: Date, keys: Keys = testKeys()): RightsContext {
  return { db, keys, purposes: declarations.purposes, now, actor: 'dpo@test.example' }
}

/** Every row of every table of every schema but the catalogs, as text lines `schema.table: col=value|...`. */
export async function dumpEveryTable(db: Db): Promise<string[]> {
  const { rows: columns } = await db.query<{ table_schema: string; table_name: string; column_name: string; data_type: string }>(
    `select c.table_schema, c.table_name, c.column_name, c.data_type
     from information_schema.columns c
     join information_schema.tables t on t.table_schema = c.table_schema and t.table_name = c.table_name and t.table_type = 'BASE TABLE'
     where c.table_schema not in ('pg_catalog', 'information_schema')
       and c.table_schema not like 'pg\\_%'
     order by c.table_schema, c.table_name, c.ordinal_position`,
  )
  const byTable = new Map<string, { column: string; type: string }[]>()
  for (const c of columns) {
    const key = `${c.table_schema}.${c.table_name}`
    if (!byTable.has(key)) byTable.set(key, [])
    byTable.get(key)!.push({ column: c.column_name, type: c.data_type })
  }
  const lines: string[] = []
  for (const [table, cols] of byTable) {
    const exprs = cols.map((c) => `${c.type === 'bytea' ? `encode("${c.column}", 'hex')` : `"${c.column}"::text`} as "${c.column}"`)
    const { rows } = await db.query<Record<string, unknown>>(`select ${exprs.join(', ')} from ${table.split('.').map((p) => `"${p}"`).join('.')}`)
    for (const r of rows) lines.push(`${table}: ${cols.map((c) => `${c.column}=${r[c.column] ?? ''}`).join('|')}`)
  }
  return lines
}

/** The values of `column` in a dumped line. */
export function columnValues(line: string, column: string): string[] {
  return line
    .slice(line.indexOf(': ') + 2)
    .split('|')
    .filter((kv) => kv.startsWith(`${column}=`))
    .map((kv) => kv.slice(column.length + 1))
}

/** No shipped purpose names the DPO as recipient: the API tests give the DPO this one to get a token. */
export const DPO_PURPOSE = `title: Contrôle par le délégué à la protection des données (test)
title_en: DPO oversight (test)
description: Purpose of the rights tests, for the DPO's token.
description_en: Purpose of the rights tests, for the DPO's token.
controller: { name: Département de test, contact: dpd@test.example }
legal_basis: { gdpr: 6(1)(c), national: RGPD art. 12 à 22 et 37 à 39 (test) }
data_subjects: [Bénéficiaires du RSA]
recipients:
  - { role: dpo, organisation_types: [departement] }
source_flows: [caf-beneficiaires]
fields:
  - { field: dossier.numdemrsa, as: numeroDemandeRsa }
retention: rsa-beneficiaires
`
