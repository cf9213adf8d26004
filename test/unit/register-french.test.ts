import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { ISO_DURATION_PATTERN } from '../../src/labels/french-format.ts'
import { loadPurposes } from '../../src/purposes/load-purposes.ts'
import { loadDeclarations } from '../../src/declarations/load-declarations.ts'
import { registerFromDeclarations, renderRegister } from '../../src/register/register-from-declarations.ts'

/**
 * The register is a French document for the DPO and the CNIL: no English sentence from the declarations, no ISO
 * duration, French plurals, the controller of mappings/controller.yaml, a data map that fits the page.
 */
const FLOWS_DIR = path.resolve('flows')
const MAPPINGS_DIR = path.resolve('mappings')
const NO_KEYS = { databaseUrl: undefined, keys: {} }
const loadRegister = (dirs: { flowsDir: string; mappingsDir: string }, generatedOn: string) => ({
  register: registerFromDeclarations(loadDeclarations(dirs), NO_KEYS, generatedOn),
})

const dirs: string[] = []
function tempMappings(): string {
  const root = mkdtempSync(path.join(tmpdir(), 'passerelle-register-fr-'))
  dirs.push(root)
  const copy = path.join(root, 'mappings')
  cpSync(MAPPINGS_DIR, copy, { recursive: true })
  return copy
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

/** English sentences that the declarations carry or carried (title_en/description_en are added below). */
const KNOWN_ENGLISH = [
  'Téléservice and instruction data',
  'Intermediate archive for litigation',
  'recovery of undue',
  'read only through',
  'audited, with a reason',
  'RSA beneficiaries subject to rights and duties',
  'members of their household',
  'RSA applicants and beneficiaries',
  'partner agents holding an account',
  'aligned on the audit log',
  'operating need',
  'five-year limitation',
  'one row per orientation',
  'separated CSV',
  'file type (inscription',
  'pseudonymised',
]

function renderings(mappingsDir = MAPPINGS_DIR) {
  const { register } = loadRegister({ flowsDir: FLOWS_DIR, mappingsDir }, '2026-12-06')
  return { register, md: renderRegister(register, 'md'), html: renderRegister(register, 'html') }
}

describe('the register in French', () => {
  const { register, md, html } = renderings()
  const purposes = loadPurposes(MAPPINGS_DIR)

  it('contains no English sentence from the declarations', () => {
    const english = [...KNOWN_ENGLISH, ...[...purposes.values()].flatMap((p) => [p.title_en, p.description_en.replace(/\s+/g, ' ').trim()])]
    for (const text of [md, html]) {
      for (const sentence of english) expect(text, sentence).not.toContain(sentence)
    }
    // Outside code spans, no line of the Markdown reads as English.
    const prose = md.replace(/`[^`]*`/g, '')
    for (const line of prose.split('\n')) expect(line).not.toMatch(/\b(the|and|of|with|only|from|for)\b/)
  })

  it('keeps the English title and description for an English rendering (JSON)', () => {
    const json = JSON.parse(renderRegister(register, 'json')) as { purposes: { id: string; titleEn: string; descriptionEn: string }[] }
    for (const p of purposes.values()) expect(json.purposes.find((x) => x.id === p.id)).toMatchObject({ titleEn: p.title_en, descriptionEn: p.description_en })
  })

  it('gives durations in words, never as ISO-8601', () => {
    expect(md).not.toMatch(ISO_DURATION_PATTERN)
    expect(html).not.toMatch(ISO_DURATION_PATTERN)
    for (const words of ['36 mois', '6 ans', '5 mois', '3 mois', '1 an', '2 jours']) expect(md).toContain(words)
  })

  it('says "1 champ" and "N champs"', () => {
    expect(md).toContain('### Données traitées (1 champ)')
    expect(html).toContain('<h3>Données traitées (1 champ)</h3>')
    expect(md).not.toMatch(/\b1 champs\b/)
    expect(html).not.toMatch(/\b1 champs\b/)
    expect(md).toMatch(/### Données traitées \(\d{2} champs\)/)
  })

  it('names the generalisation levels of the extracts in French', () => {
    expect(md).toContain('`anneeNaissance` (année → tranche de 5 ans → tranche de 10 ans)')
    expect(md).not.toMatch(/band-10|cap-6/)
  })

  it('names the controller of mappings/controller.yaml, and says when it is still the example', () => {
    expect(register.controllers).toHaveLength(1)
    expect(register.controllers[0]!.name).toContain("Département de l'Exemple")
    expect(md).toContain('À compléter : le responsable du traitement déclaré (mappings/controller.yaml)')

    const mappings = tempMappings()
    writeFileSync(
      path.join(mappings, 'controller.yaml'),
      'name: Département de la Drôme\nrepresented_by: la présidente du conseil départemental\naddress: 26 avenue du Président Herriot, 26000 Valence\ndpo: { email: dpo@ladrome.fr }\n',
    )
    const filled = renderings(mappings)
    expect(filled.register.controllers).toEqual([
      { name: 'Département de la Drôme — la présidente du conseil départemental, 26 avenue du Président Herriot, 26000 Valence', contact: 'Délégué(e) à la protection des données : dpo@ladrome.fr' },
    ])
    for (const text of [filled.md, filled.html]) {
      expect(text).toContain('dpo@ladrome.fr')
      expect(text).not.toContain('departement.example')
      expect(text).not.toContain('À compléter')
    }
    // Each purpose names it too.
    expect(filled.register.purposes.every((p) => p.controller.contact.includes('dpo@ladrome.fr'))).toBe(true)
  })

  it('lays the data map out to fit the page width, on screen and in print, inside a main landmark', () => {
    expect(html).toMatch(/<main>[\s\S]*<table class="map">[\s\S]*<\/main>/)
    expect(html).toMatch(/table\.map \{ table-layout: fixed; \}/)
    expect(html).toMatch(/table\.map td, table\.map th \{[^}]*overflow-wrap: anywhere/)
    const map = /<table class="map">([\s\S]*?)<\/table>/.exec(html)![1]!
    const columns = (/<colgroup>([\s\S]*?)<\/colgroup>/.exec(map)![1]!.match(/<col\b/g) ?? []).length
    expect(columns).toBe(5 + register.dataMap.purposes.length)
    expect(html).toContain('@page { size: A4 landscape')
  })
})

describe('docs/register.md', () => {
  it('is French too', () => {
    const doc = readFileSync(path.resolve('docs/register.md'), 'utf8')
    expect(doc).not.toMatch(ISO_DURATION_PATTERN)
    for (const sentence of KNOWN_ENGLISH) expect(doc, sentence).not.toContain(sentence)
  })
})
