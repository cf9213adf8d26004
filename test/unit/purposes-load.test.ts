import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { DeclarationError } from '../../src/declarations/declaration-error.ts'
import { namesExampleDomain } from '../../src/purposes/controller.ts'
import { loadPurposes, readPurposes } from '../../src/purposes/load-purposes.ts'

const SHIPPED = path.resolve('mappings')
const dirs: string[] = []

function tempMappings(files: Record<string, string> = {}, withShipped = false): string {
  const root = mkdtempSync(path.join(tmpdir(), 'passerelle-purposes-'))
  dirs.push(root)
  const dir = path.join(root, 'mappings')
  if (withShipped) cpSync(SHIPPED, dir, { recursive: true })
  // The controller declaration goes with every purpose (mappings/controller.yaml).
  else cpSync(SHIPPED, dir, { recursive: true, filter: (src) => src === SHIPPED || path.basename(src) === 'controller.yaml' })
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text)
  return dir
}

afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

const VALID = readFileSync(path.join(SHIPPED, 'orientation.yaml'), 'utf8')

/** The shipped orientation.yaml with one edit applied to its text. */
function edited(from: string | RegExp, to: string): string {
  const text = VALID.replace(from, to)
  if (text === VALID) throw new Error(`edit not applied: ${String(from)}`)
  return text
}

function problemsOf(files: Record<string, string>): string[] {
  return readPurposes(tempMappings(files)).problems
}

describe('loadPurposes', () => {
  it('loads the shipped purposes, the file name being the id', () => {
    const purposes = loadPurposes(SHIPPED)
    expect([...purposes.keys()].sort()).toEqual(['accompagnement-rsa', 'instruction', 'orientation', 'pilotage-et-controle', 'statistiques'])
    const orientation = purposes.get('orientation')!
    expect(orientation.id).toBe('orientation')
    expect(orientation.legal_basis.gdpr).toBe('6(1)(e)')
    expect(orientation.fields.find((f) => f.field === 'personne.dateNaissance')).toMatchObject({ transform: 'year', as: 'anneeNaissance' })
    // Defaults are applied: `keep` when no transform is given.
    expect(orientation.fields.find((f) => f.field === 'personne.nom')?.transform).toBe('keep')
  })

  it('accepts .yml as well as .yaml', () => {
    const dir = tempMappings({ 'other-purpose.yml': VALID })
    expect([...loadPurposes(dir).keys()]).toEqual(['other-purpose'])
  })

  it('throws a DeclarationError listing every problem of every file', () => {
    const dir = tempMappings({
      'a.yaml': edited(/^retention: .*$/m, ''),
      'b.yaml': edited(/^audit: full$/m, 'audit: everything'),
    })
    const error = (() => {
      try {
        loadPurposes(dir)
      } catch (e) {
        return e
      }
    })()
    expect(error).toBeInstanceOf(DeclarationError)
    expect((error as DeclarationError).problems).toEqual([
      expect.stringMatching(/^mappings\/a\.yaml: retention: missing/),
      'mappings/b.yaml: audit: unknown value "everything" (known: full, metadata)',
    ])
  })

  it('names the file, the key and the expectation when the legal basis is missing', () => {
    const text = edited(/^legal_basis:\n(  .*\n)+/m, '')
    expect(problemsOf({ 'p.yaml': text })).toEqual([
      expect.stringMatching(/^mappings\/p\.yaml: legal_basis: missing \(every purpose needs a legal basis: `legal_basis: \{ gdpr: 6\(1\)\(e\)/),
    ])
  })

  it('rejects a GDPR basis that is not an Art. 6(1) letter', () => {
    expect(problemsOf({ 'p.yaml': edited('gdpr: 6(1)(e)', 'gdpr: 6(1)(z)') })).toEqual([
      'mappings/p.yaml: legal_basis.gdpr: must be a GDPR Art. 6(1) letter such as 6(1)(e)',
    ])
  })

  it('reports missing and empty recipients', () => {
    const noRecipients = edited(/^recipients:\n(  .*\n)+/m, '')
    expect(problemsOf({ 'p.yaml': noRecipients })).toEqual([expect.stringMatching(/^mappings\/p\.yaml: recipients: missing \(every purpose needs at least one recipient/)])
    const empty = edited(/^recipients:\n(  .*\n)+/m, 'recipients: []\n')
    expect(problemsOf({ 'p.yaml': empty })).toEqual([expect.stringMatching(/^mappings\/p\.yaml: recipients: must list at least 1 \(/)])
  })

  it('reports a missing retention policy name', () => {
    expect(problemsOf({ 'p.yaml': edited(/^retention: .*$/m, '') })).toEqual([
      expect.stringMatching(/^mappings\/p\.yaml: retention: missing \(every purpose needs a retention policy name/),
    ])
  })

  it('lists the known roles and transforms, pointing at the field entry', () => {
    const text = edited('{ field: personne.nom, as: nom }', '{ field: personne.nom, as: nom, transform: blur }').replace(
      'role: structure-manager',
      'role: manager',
    )
    expect(problemsOf({ 'p.yaml': text })).toEqual([
      'mappings/p.yaml: recipients[0].role: unknown value "manager" (known: referent, structure-manager, instructor, statistician, dpo, admin)',
      'mappings/p.yaml: fields[10] (personne.nom).transform: unknown value "blur" (known: keep, year, age-band, postcode-to-departement, truncate, omit)',
    ])
  })

  it('requires a length for truncate', () => {
    const text = edited('{ field: personne.nom, as: nom }', '{ field: personne.nom, as: nom, transform: truncate }')
    expect(problemsOf({ 'p.yaml': text })).toEqual(['mappings/p.yaml: fields[10] (personne.nom): truncate needs a length'])
  })

  it('reports unknown keys with a suggestion instead of silently dropping them', () => {
    const text = edited('{ field: personne.nom, as: nom }', '{ field: personne.nom, as: nom, tranform: year }').replace(
      'audit: full',
      'audit: full\nerasble: true',
    )
    expect(problemsOf({ 'p.yaml': text })).toEqual([
      expect.stringMatching(/^mappings\/p\.yaml: erasble: unknown key, did you mean "erasable"\? \(known: title, title_en, /),
      'mappings/p.yaml: fields[10] (personne.nom).tranform: unknown key, did you mean "transform"? (known: field, as, transform, length, consent)',
    ])
  })

  it('rejects an exposed name that is not an identifier', () => {
    const text = edited('{ field: personne.nom, as: nom }', '{ field: personne.nom, as: __proto__ }')
    expect(problemsOf({ 'p.yaml': text })).toEqual([expect.stringMatching(/^mappings\/p\.yaml: fields\[10\] \(personne\.nom\)\.as: /)])
  })

  it('rejects a file name that is not a kebab-case id', () => {
    expect(problemsOf({ 'Bad_Name.yaml': VALID })).toEqual([
      'mappings/Bad_Name.yaml: (file name): the file name is the purpose id and must be kebab-case (got "Bad_Name")',
    ])
  })

  it('reports a purpose declared twice as .yml and .yaml', () => {
    expect(problemsOf({ 'twice.yaml': VALID, 'twice.yml': VALID })).toEqual([
      'mappings/twice.yml: (file name): purpose id "twice" is declared twice (mappings/twice.yaml and mappings/twice.yml): keep one file',
    ])
  })

  it('reports invalid YAML and a file that is not a mapping', () => {
    expect(problemsOf({ 'broken.yaml': 'title: [unclosed\n' })).toEqual([expect.stringMatching(/^mappings\/broken\.yaml: \(yaml\): not valid YAML: /)])
    expect(problemsOf({ 'empty.yaml': '' })).toEqual(['mappings/empty.yaml: (root): expected object, got null'])
  })

  it('gives every purpose the controller declared once in mappings/controller.yaml', () => {
    const dir = tempMappings({
      'controller.yaml': 'name: Département de la Drôme\nrepresented_by: la présidente du conseil départemental\naddress: 26 avenue du Président Herriot, 26000 Valence\ndpo: { email: dpo@ladrome.fr }\n',
      'one.yaml': VALID,
    })
    const purpose = loadPurposes(dir).get('one')!
    expect(purpose.controller.name).toBe('Département de la Drôme — la présidente du conseil départemental, 26 avenue du Président Herriot, 26000 Valence')
    expect(purpose.controller.contact).toBe('Délégué(e) à la protection des données : dpo@ladrome.fr')
    // controller.yaml is not a purpose.
    expect([...loadPurposes(dir).keys()]).toEqual(['one'])
  })

  it('reports a purpose with no controller when mappings/controller.yaml is missing, and a bad controller.yaml', () => {
    const root = mkdtempSync(path.join(tmpdir(), 'passerelle-purposes-'))
    dirs.push(root)
    writeFileSync(path.join(root, 'one.yaml'), VALID)
    expect(readPurposes(root).problems).toEqual([expect.stringMatching(/^[^:]+\/one\.yaml: controller: missing \(declare the controller once for every purpose in [^)]*controller\.yaml/)])
    writeFileSync(path.join(root, 'controller.yaml'), 'name: Département\naddress: x\ndpo: { email: not-an-email }\nwebsite: x\n')
    const problems = readPurposes(root).problems
    expect(problems.some((p) => /controller\.yaml: dpo\.email: /.test(p))).toBe(true)
    expect(problems.some((p) => /controller\.yaml: \(root\): Unrecognized key.*website/.test(p))).toBe(true)
  })

  it('tells a controller still on a reserved example domain from a filled-in one', () => {
    const contact = (email: string) => ({ name: 'Département', contact: `DPO : ${email}` })
    for (const email of ['dpd@departement.example', 'dpo@x.test', 'dpo@example.org', 'dpo@mail.example.com', 'dpo@invalid']) expect(namesExampleDomain(contact(email)), email).toBe(true)
    for (const email of ['dpo@ladrome.fr', 'dpd@test-departement.fr', 'dpo@contest.fr', 'rgpd@cd93.fr', 'dpo@examples.org']) expect(namesExampleDomain(contact(email)), email).toBe(false)
  })

  it('reports a directory with no purpose', () => {
    expect(problemsOf({})).toEqual(['mappings: no purpose declared (no <id>.yaml file)'])
  })
})
