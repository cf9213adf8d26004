import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { readApiFlows } from '../../src/exchange/france-travail-api/api-flow.ts'
import { loadFlows } from '../../src/flows/load-flows.ts'
import { CANONICAL_FIELDS } from '../../src/model/fields.ts'
import { checkDeclarations, formatProblem, type DeclarationsToCheck, type ProblemKind } from '../../src/declarations/check-declarations.ts'
import { loadPurposes } from '../../src/purposes/load-purposes.ts'
import { parsePurpose, type Purpose } from '../../src/purposes/purpose.ts'
import { BOOKKEEPING_COLUMNS, CANONICAL_TABLES } from '../../src/purposes/stored-fields.ts'
import { loadRetentionPolicies } from '../../src/retention/load-policies.ts'

const FLOWS = new Map([
  ['caf-beneficiaires', { id: 'caf-beneficiaires', retention: 'rsa-beneficiaires' }],
  ['msa-beneficiaires', { id: 'msa-beneficiaires', retention: 'rsa-beneficiaires' }],
  ['france-travail', { id: 'france-travail', retention: 'france-travail' }],
])
const POLICIES = new Map([
  ['rsa-beneficiaires', { appliesTo: 'flow-data' }],
  ['france-travail', { appliesTo: 'flow-data' }],
  ['suivi-court', { appliesTo: 'purpose' }],
  ['audit-log', { appliesTo: 'audit-log' }],
])

/** A valid purpose; tests change one thing at a time. */
function purpose(id: string, changes: Partial<Purpose> = {}): Purpose {
  const declared = parsePurpose(
    {
    title: 'Titre',
    title_en: 'Title',
    description: 'Description',
    description_en: 'Description',
    controller: { name: 'Département', contact: 'dpd@example.org' },
    legal_basis: { gdpr: '6(1)(e)', national: 'CASF art. R.262-103 et suivants' },
    data_subjects: ['Bénéficiaires du RSA'],
    recipients: [{ role: 'referent', organisation_types: ['ccas'] }],
    source_flows: ['caf-beneficiaires', 'france-travail'],
    fields: [
      { field: 'personne.nom', as: 'nom' },
      { field: 'franceTravail.etat', as: 'etatFranceTravail' },
    ],
    retention: 'rsa-beneficiaires',
    },
    id,
  )
  return { ...declared, ...changes }
}

function check(purposes: Purpose[], extra: Partial<DeclarationsToCheck> = {}) {
  return checkDeclarations({ purposes: new Map(purposes.map((p) => [p.id, p])), flows: FLOWS, retentionPolicies: POLICIES, ...extra })
}

function only(kind: ProblemKind, purposes: Purpose[], extra: Partial<DeclarationsToCheck> = {}): string[] {
  const problems = check(purposes, extra)
  expect(problems.map((p) => p.kind)).toEqual(problems.map(() => kind))
  return problems.map(formatProblem)
}

const withFields = (fields: Purpose['fields'], changes: Partial<Purpose> = {}) => purpose('p', { fields, ...changes })

describe('checkDeclarations', () => {
  it('finds nothing wrong in a valid purpose', () => {
    expect(check([purpose('p')])).toEqual([])
  })

  it('finds nothing wrong in the shipped flows, retention policies and purposes', () => {
    const flows = loadFlows(path.resolve('flows'))
    const problems = checkDeclarations({
      purposes: loadPurposes(path.resolve('mappings')),
      flows,
      // The partner-API flow feeds France Travail's orientation (accompagnement-rsa and orientation name it).
      apiFlowIds: new Set(readApiFlows(path.resolve('flows')).entries.keys()),
      retentionPolicies: loadRetentionPolicies(path.resolve('flows')),
    })
    expect(problems.map(formatProblem)).toEqual([])
  })

  it('finds nothing wrong in the example of docs/purposes.md', () => {
    const doc = readFileSync(path.resolve('docs/purposes.md'), 'utf8')
    const blocks = [...doc.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!.replace(/^ {3}/gm, ''))
    const example = blocks.find((b) => b.includes('title_en:'))!
    const controller = blocks.find((b) => b.startsWith('name:'))!
    const dir = mkdtempSync(path.join(tmpdir(), 'passerelle-doc-example-'))
    try {
      writeFileSync(path.join(dir, 'suivi-cer.yaml'), example)
      writeFileSync(path.join(dir, 'controller.yaml'), controller)
      const purposes = loadPurposes(dir)
      expect(purposes.get('suivi-cer')!.fields).toHaveLength(5)
      const problems = checkDeclarations({ purposes, flows: loadFlows(path.resolve('flows')), retentionPolicies: loadRetentionPolicies(path.resolve('flows')) })
      expect(problems.map(formatProblem)).toEqual([])
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('names an unknown canonical field with its closest matches', () => {
    expect(only('unknown-field', [withFields([{ field: 'adresse.codeinse', transform: 'keep' }], { source_flows: ['caf-beneficiaires'] })])).toEqual([
      'mappings/p.yaml: fields[0] (adresse.codeinse).field: unknown canonical field "adresse.codeinse" (known, closest first: adresse.codeInsee, franceTravail.codeInsee, adresse.commune, franceTravail.codeRome, adresse.codePostal)',
    ])
  })

  it('still says what is known when nothing is close', () => {
    const [problem] = check([withFields([{ field: 'zzz', transform: 'keep' }], { source_flows: ['caf-beneficiaires'] })]).map(formatProblem)
    expect(problem).toMatch(/unknown canonical field "zzz" \(known: the \d+ fields of src\/model\/fields\.ts, e\.g\. dossier\.numdemrsa, /)
  })

  it('reports a field declared twice and an exposed name used twice', () => {
    const twice = withFields([
      { field: 'personne.nom', as: 'nom', transform: 'keep' },
      { field: 'personne.nom', as: 'nom2', transform: 'keep' },
      { field: 'franceTravail.etat', transform: 'keep' },
    ])
    expect(only('duplicate-field', [twice])).toEqual([
      'mappings/p.yaml: fields[1] (personne.nom).field: field "personne.nom" is already declared at fields[0]: declare each field once',
    ])
    const sameName = withFields([
      { field: 'personne.nom', as: 'nom', transform: 'keep' },
      { field: 'personne.nomNaissance', as: 'nom', transform: 'keep' },
      { field: 'franceTravail.etat', transform: 'keep' },
    ])
    expect(only('duplicate-exposed-name', [sameName])).toEqual([
      'mappings/p.yaml: fields[1] (personne.nomNaissance).as: exposed name "nom" is already used by fields[0] (personne.nom): give one of them another `as`',
    ])
  })

  it('counts default exposed names, and ignores omitted fields, when looking for duplicates', () => {
    const defaults = withFields([
      { field: 'adresse.codeInsee', transform: 'keep' },
      { field: 'franceTravail.codeInsee', transform: 'keep' },
    ])
    expect(only('duplicate-exposed-name', [defaults])).toEqual([
      'mappings/p.yaml: fields[1] (franceTravail.codeInsee).as: exposed name "codeInsee" is already used by fields[0] (adresse.codeInsee): give one of them another `as`',
    ])
    const omitted = withFields([
      { field: 'adresse.codeInsee', transform: 'omit' },
      { field: 'franceTravail.codeInsee', transform: 'keep' },
    ])
    expect(check([omitted])).toEqual([])
  })

  it('reports a missing legal basis, recipients or retention in purposes built in code', () => {
    const p = purpose('p', {
      legal_basis: { gdpr: '6(1)(e)', national: ' ' },
      recipients: [],
      retention: '',
    })
    expect(check([p]).map(formatProblem)).toEqual([
      'mappings/p.yaml: legal_basis: missing: every purpose needs a GDPR Art. 6(1) letter (gdpr) and the national text (national)',
      'mappings/p.yaml: recipients: missing: every purpose names at least one recipient (role and organisation types)',
      'mappings/p.yaml: retention: missing: every purpose names a retention policy (known: france-travail, rsa-beneficiaires, suivi-court)',
    ])
  })

  it('reports an unknown retention policy, listing the known ones', () => {
    expect(only('unknown-retention-policy', [purpose('p', { retention: 'rsa-beneficiares' })])).toEqual([
      'mappings/p.yaml: retention: unknown retention policy "rsa-beneficiares" (known: france-travail, rsa-beneficiaires, suivi-court): declare it in flows/retention/rsa-beneficiares.yaml or name a known one',
    ])
  })

  it('accepts purpose-scoped policies and refuses policies of the gateway’s own data', () => {
    expect(check([purpose('p', { retention: 'suivi-court' })])).toEqual([])
    expect(only('unknown-retention-policy', [purpose('p', { retention: 'audit-log' })])).toEqual([
      "mappings/p.yaml: retention: retention policy \"audit-log\" applies to audit-log, not to a purpose's data (known: france-travail, rsa-beneficiaires, suivi-court)",
    ])
  })

  it('accepts an injected set of policy names, and skips the check when none is given', () => {
    expect(check([purpose('p')], { retentionPolicies: new Set(['rsa-beneficiaires', 'france-travail']) })).toEqual([])
    expect(only('unknown-retention-policy', [purpose('p', { retention: 'x' })], { retentionPolicies: new Set(['rsa-beneficiaires', 'france-travail']) })).toHaveLength(1)
    expect(check([purpose('p', { retention: 'x' })], { retentionPolicies: undefined })).toEqual([])
  })

  it('checks the retention policies the flows name', () => {
    const flows = new Map([...FLOWS, ['caf-beneficiaires', { id: 'caf-beneficiaires', retention: 'nowhere' }]])
    expect(only('unknown-retention-policy', [purpose('p')], { flows })).toEqual([
      'flows/caf-beneficiaires.yaml: retention: unknown retention policy "nowhere" (known: france-travail, rsa-beneficiaires): declare it in flows/retention/nowhere.yaml or name a known one',
    ])
  })

  it('reports an unknown source flow, listing the known flows', () => {
    const p = purpose('p', { source_flows: ['caf-beneficiaires', 'france-travail', 'pole-emploi'] })
    expect(only('unknown-source-flow', [p])).toEqual([
      'mappings/p.yaml: source_flows[2]: unknown flow "pole-emploi" (known: caf-beneficiaires, france-travail, msa-beneficiaires)',
    ])
  })

  it('skips the checks against the flow declarations when the flows could not be loaded', () => {
    const p = purpose('france-travail', { source_flows: ['caf-beneficiaires', 'france-travail', 'pole-emploi'] })
    // No unknown-source-flow nor id-clash: only what the catalogue alone tells (no field comes from pole-emploi).
    expect(only('unused-source-flow', [p], { flows: undefined })).toEqual([
      'mappings/france-travail.yaml: source_flows[2]: flow "pole-emploi" feeds none of the declared fields: remove it or declare a field it brings',
    ])
  })

  it('reports a purpose id that is also a flow id', () => {
    expect(only('id-clash', [purpose('france-travail')])).toEqual([
      'mappings/france-travail.yaml: (file name): purpose id "france-travail" is also a flow id (flows/france-travail.yaml): rename one of them',
    ])
  })

  it('reports a field none of whose flows is among the source flows', () => {
    const p = purpose('p', { source_flows: ['caf-beneficiaires'], fields: [{ field: 'personne.nom', transform: 'keep' }, { field: 'franceTravail.motif', transform: 'keep' }] })
    expect(only('field-outside-source-flows', [p])).toEqual([
      'mappings/p.yaml: fields[1] (franceTravail.motif).field: franceTravail.motif comes from france-travail, none of which is among source_flows (caf-beneficiaires): add its flow to source_flows or remove the field',
    ])
  })

  it('reports a source flow that feeds none of the declared fields', () => {
    const p = purpose('p', { source_flows: ['caf-beneficiaires', 'msa-beneficiaires', 'france-travail'], fields: [{ field: 'franceTravail.etat', transform: 'keep' }, { field: 'personne.nom', transform: 'keep' }] })
    expect(check([p])).toEqual([])
    const unused = purpose('p', { source_flows: ['caf-beneficiaires', 'france-travail'], fields: [{ field: 'personne.nom', transform: 'keep' }] })
    expect(only('unused-source-flow', [unused])).toEqual([
      'mappings/p.yaml: source_flows[1]: flow "france-travail" feeds none of the declared fields: remove it or declare a field it brings',
    ])
  })

  it('requires an Art. 9 condition for a health-revealing field', () => {
    const p = purpose('p', { source_flows: ['caf-beneficiaires'], fields: [{ field: 'dossier.motifSuspensionVersement', transform: 'keep' }] })
    expect(only('article9-missing', [p])).toEqual([
      'mappings/p.yaml: fields[0] (dossier.motifSuspensionVersement).field: dossier.motifSuspensionVersement is special-category data (GDPR Art. 9, category "sante"): add an article9 entry { category: sante, condition: "Art. 9(2)(...) ..." } or remove the field',
    ])
    expect(check([{ ...p, article9: [{ category: 'sante', condition: 'Art. 9(2)(b) RGPD' }] }])).toEqual([])
  })

  it('reports an Art. 9 entry with no field of its category, or an unknown category', () => {
    const p = purpose('p', { article9: [{ category: 'sante', condition: 'Art. 9(2)(b)' }, { category: 'religion', condition: 'Art. 9(2)(a)' }] })
    expect(check([p]).map(formatProblem)).toEqual([
      'mappings/p.yaml: article9[0].category: declares Art. 9 category "sante" but no field of that category: remove the entry (the register would claim a processing that does not happen)',
      'mappings/p.yaml: article9[1].category: unknown Art. 9 category "religion" (known: sante)',
    ])
  })

  it('reports transforms that do not fit the field type', () => {
    const p = withFields(
      [
        { field: 'personne.nom', transform: 'year' },
        { field: 'personne.sexe', transform: 'age-band' },
        { field: 'adresse.commune', transform: 'postcode-to-departement' },
        { field: 'dossier.nombreEnfants', transform: 'truncate', length: 1 },
        { field: 'franceTravail.etat', transform: 'keep' },
      ],
      { source_flows: ['caf-beneficiaires', 'france-travail'] },
    )
    expect(only('transform-incompatible', [p])).toEqual([
      'mappings/p.yaml: fields[0] (personne.nom).transform: "year" reads a date, and personne.nom is of type text (use it on a date field)',
      'mappings/p.yaml: fields[1] (personne.sexe).transform: "age-band" reads a date, and personne.sexe is of type code (use it on a date field)',
      'mappings/p.yaml: fields[2] (adresse.commune).transform: "postcode-to-departement" reads a postcode or an INSEE commune code, and adresse.commune is neither (known: adresse.codePostal, adresse.codeInsee, franceTravail.codeInsee)',
      'mappings/p.yaml: fields[3] (dossier.nombreEnfants).transform: "truncate" cuts text, and dossier.nombreEnfants is of type integer (use it on text, code, nir or date fields)',
    ])
  })

  it('accepts the transforms on the fields they are meant for', () => {
    const p = withFields(
      [
        { field: 'personne.dateNaissance', as: 'annee', transform: 'year' },
        { field: 'dossier.dateDemande', transform: 'age-band', length: 5 },
        { field: 'adresse.codePostal', as: 'dep1', transform: 'postcode-to-departement' },
        { field: 'adresse.codeInsee', as: 'dep2', transform: 'postcode-to-departement' },
        { field: 'dossier.matricule', transform: 'truncate', length: 7 },
        { field: 'personne.nir', transform: 'truncate', length: 13 },
        { field: 'franceTravail.etat', transform: 'omit' },
      ],
      { source_flows: ['caf-beneficiaires', 'france-travail'] },
    )
    expect(check([p])).toEqual([])
  })

  it('reports a length no transform reads', () => {
    const p = withFields([{ field: 'personne.nom', transform: 'keep', length: 3 }, { field: 'franceTravail.etat', transform: 'keep' }])
    expect(only('transform-length-unused', [p])).toEqual([
      'mappings/p.yaml: fields[0] (personne.nom).length: length is only read by "truncate" and "age-band", not by "keep": remove it',
    ])
  })

  it('names the file the purpose was read from', () => {
    const [problem] = check([purpose('p', { retention: 'x' })], { purposeFiles: new Map([['p', 'mappings/p.yml']]) })
    expect(problem!.file).toBe('mappings/p.yml')
  })

  describe('with the database schema', () => {
    const schema = () => {
      const columns = new Map<string, Set<string>>(CANONICAL_TABLES.map((t) => [t, new Set(BOOKKEEPING_COLUMNS[t])]))
      for (const f of CANONICAL_FIELDS) columns.get(f.table)!.add(f.column)
      return columns
    }

    it('accepts a schema whose columns are the catalogue and the bookkeeping columns', () => {
      expect(check([purpose('p')], { schemaColumns: schema() })).toEqual([])
    })

    it('reports a column no catalogue field describes: it could be stored without any purpose declaring it', () => {
      const columns = schema()
      columns.get('persons')!.add('telephone')
      expect(only('schema-column-not-in-catalogue', [purpose('p')], { schemaColumns: columns })).toEqual([
        'database: persons.telephone: column is neither a canonical field (src/model/fields.ts) nor a bookkeeping column: describe it in the catalogue so purposes decide whether it is stored',
      ])
    })

    it('reports a catalogue field whose column does not exist', () => {
      const columns = schema()
      columns.get('dossiers')!.delete('adresse_pays')
      const problems = only('schema-missing-column', [purpose('p')], { schemaColumns: columns })
      expect(problems).toEqual([expect.stringMatching(/^src\/model\/fields\.ts: adresse\.pays: column dossiers\.adresse_pays does not exist in the database \(known: id, public_id, /)])
    })
  })

  describe('with the stored values', () => {
    it('reports values stored for a field no purpose declares', () => {
      const counts = new Map([
        ['personne.nom', 12],
        ['dossier.montantDroitTotal', 3],
        ['personne.prenom', 0],
      ])
      expect(only('stored-undeclared', [purpose('p')], { storedValueCounts: counts })).toEqual([
        'database: dossiers.montant_droit_total: 3 row(s) hold a value for dossier.montantDroitTotal, which no purpose declares and which is not a key (stored under an earlier configuration?): it must be cleared',
      ])
    })

    it('accepts values of key fields whatever the purposes declare', () => {
      expect(check([purpose('p')], { storedValueCounts: new Map([['dossier.etatDroit', 5], ['dossier.dateCloture', 2]]) })).toEqual([])
    })
  })
})
