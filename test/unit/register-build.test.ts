import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { loadFlows } from '../../src/flows/load-flows.ts'
import { durationInWords } from '../../src/labels/french-format.ts'
import { FIELDS_BY_ID } from '../../src/model/fields.ts'
import { loadPurposes } from '../../src/purposes/load-purposes.ts'
import { buildRegister, type Register } from '../../src/register/build-register.ts'
import { loadDeclarations } from '../../src/declarations/load-declarations.ts'
import { registerFromDeclarations, renderRegister } from '../../src/register/register-from-declarations.ts'
import { securityMeasures } from '../../src/register/security-measures.ts'
import { loadRetentionPolicies } from '../../src/retention/load-policies.ts'

const FLOWS_DIR = path.resolve('flows')
const MAPPINGS_DIR = path.resolve('mappings')
const NO_KEYS = { databaseUrl: undefined, keys: {} }
const loadRegister = (dirs: { flowsDir: string; mappingsDir: string }, generatedOn: string) => ({
  register: registerFromDeclarations(loadDeclarations(dirs), NO_KEYS, generatedOn),
})
const shipped = () => loadRegister({ flowsDir: FLOWS_DIR, mappingsDir: MAPPINGS_DIR }, '2026-11-23')

const dirs: string[] = []
function tempCopy(dir: string): string {
  const root = mkdtempSync(path.join(tmpdir(), 'passerelle-register-'))
  dirs.push(root)
  const copy = path.join(root, path.basename(dir))
  cpSync(dir, copy, { recursive: true })
  return copy
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

/** The Markdown section of one purpose (from its heading to the next purpose or the data map). */
function section(md: string, id: string): string {
  const start = md.indexOf(`<a id="finalite-${id}"></a>`)
  expect(start).toBeGreaterThan(-1)
  const next = md.slice(start + 1).search(/<a id="finalite-|## Cartographie des données/)
  return md.slice(start, start + 1 + next)
}

describe('the register of the shipped configuration', () => {
  const { register } = shipped()
  const purposes = loadPurposes(MAPPINGS_DIR)
  const policies = loadRetentionPolicies(FLOWS_DIR)
  const outputs = { md: renderRegister(register, 'md'), html: renderRegister(register, 'html'), json: renderRegister(register, 'json') }

  it('loads everything it needs', () => {
    expect(register.purposes.map((p) => p.id)).toEqual(['accompagnement-rsa', 'instruction', 'orientation', 'pilotage-et-controle', 'statistiques'])
  })

  it.each(['md', 'html', 'json'] as const)('names every declared purpose, with its legal basis and recipients (%s)', (format) => {
    const text = outputs[format]
    for (const p of purposes.values()) {
      expect(text).toContain(p.id)
      expect(text).toContain(format === 'html' ? escapeHtml(p.title) : p.title)
      expect(text).toContain(p.legal_basis.gdpr)
    }
    expect(text).toContain(format === 'json' ? 'Référent de parcours' : 'Référent de parcours')
    expect(text).toContain("Aucun transfert hors de l'Union européenne".replace("'", format === 'html' ? '&#39;' : "'"))
  })

  it('lists, in each purpose, every field it declares with its French label, exposed name and transform', () => {
    for (const p of purposes.values()) {
      const text = section(outputs.md, p.id)
      for (const f of p.fields) {
        const line = text.split('\n').find((l) => l.includes(`\`${f.field}\``))
        expect(line, `${p.id}: ${f.field}`).toBeDefined()
        expect(line).toContain(FIELDS_BY_ID.get(f.field)!.label.replace(/[[\]]/g, (c) => `\\${c}`))
        if (f.transform !== 'omit') expect(line).toContain(`\`${f.as ?? f.field.split('.').at(-1)}\``)
      }
      const json = register.purposes.find((x) => x.id === p.id)!
      expect(json.categories.flatMap((c) => c.fields.map((x) => x.id)).sort()).toEqual(p.fields.map((f) => f.field).sort())
    }
  })

  it('states every retention period of the policies the purposes and their flows name', () => {
    const named = new Set([...purposes.values()].flatMap((p) => [p.retention]))
    for (const flow of loadFlows(FLOWS_DIR).values()) named.add(flow.retention)
    for (const name of named) {
      const policy = policies.get(name)!
      for (const text of Object.values(outputs)) expect(text).toContain(name)
      // The French pages give durations in words; the JSON keeps the declared ISO duration beside them.
      for (const text of [outputs.md, outputs.html]) {
        expect(text).toContain(durationInWords(policy.active.duration))
        if (policy.archive) expect(text).toContain(durationInWords(policy.archive.duration))
      }
      expect(outputs.json).toContain(`"duration": "${policy.active.durationText}"`)
    }
    // The France Travail data of accompagnement-rsa follows the France Travail clock (five months).
    expect(section(outputs.md, 'accompagnement-rsa')).toMatch(/Données du flux `france-travail` : `france-travail`[\s\S]*\| Base active \| 5 mois \|/)
  })

  it('states the retention of the gateway’s own data', () => {
    for (const p of policies.values()) {
      if (p.appliesTo === 'flow-data' || p.appliesTo === 'purpose') continue
      expect(register.systemRetention.map((r) => r.policy)).toContain(p.id)
      expect(outputs.md).toContain(`\`${p.id}\``)
    }
  })

  it('declares the Art. 9 condition of instruction only', () => {
    const withArt9 = register.purposes.filter((p) => p.article9.length > 0).map((p) => p.id)
    expect(withArt9).toEqual(['instruction'])
    expect(section(outputs.md, 'instruction')).toContain('Art. 9(2)(b)')
  })

  it('states the safeguards of the statistical extracts', () => {
    const statistiques = register.purposes.find((p) => p.id === 'statistiques')!
    expect(statistiques.statistics).toMatchObject({ k: 11, maxSuppressionRate: 0.05 })
    expect(register.purposes.filter((p) => p.statistics).map((p) => p.id)).toEqual(['statistiques'])
    const text = section(outputs.md, 'statistiques')
    expect(text).toContain('regroupe au moins 11 personnes, au plus 5 % d')
    for (const qi of statistiques.statistics!.quasiIdentifiers) expect(text).toContain(`\`${qi.column}\``)
    expect(text).toContain('DREES')
    expect(outputs.html).toContain('<h3>Extraits statistiques</h3>')
  })

  it('maps which flow feeds which field for which purpose, and lists what is never stored', () => {
    const row = register.dataMap.rows.find((r) => r.id === 'personne.dateNaissance')!
    expect(row).toMatchObject({ flows: ['caf-beneficiaires', 'msa-beneficiaires', 'caf-instruction', 'msa-instruction'], stored: true, cells: { orientation: 'année', statistiques: 'année', instruction: '✓', 'accompagnement-rsa': '✓' } })
    expect(register.dataMap.rows.find((r) => r.id === 'franceTravail.adresse')).toMatchObject({ flows: ['france-travail'], stored: false })
    expect(register.neverStored.map((f) => f.id)).toEqual([
      'adresse.horsFrance',
      'personne.prenom3',
      'franceTravail.codeInsee',
      'franceTravail.localite',
      'franceTravail.adresse',
      'franceTravail.difficulteSante',
      // France Travail's orientation (partner API): its état and origine serve no purpose.
      'franceTravail.orientationEtat',
      'franceTravail.orientationOrigine',
    ])
    expect(register.dataMap.rows.find((r) => r.id === 'franceTravail.orientationParcours')).toMatchObject({
      flows: ['france-travail-api'],
      stored: true,
      cells: { 'accompagnement-rsa': '✓', orientation: '✓', instruction: null },
    })
    expect(outputs.md).toMatch(/\| Adresse France Travail \| `franceTravail\.adresse` \| adresse \| `france-travail` \| \*\*non\*\* \| — \| — \| — \| — \|/)
  })

  it('is one standalone HTML page: inline style, no script, no external asset', () => {
    const html = outputs.html
    expect(html.startsWith('<!DOCTYPE html>\n<html lang="fr">')).toBe(true)
    expect(html).toContain('<style>')
    expect(html).toContain('@media print')
    expect(html).not.toMatch(/<script|<link|<img|<iframe|@import|url\(/i)
    // Nothing is loaded from elsewhere; a hyperlink to a cited source (a legal text) is not an asset.
    expect(html.match(/src="[^"]*"/g) ?? []).toEqual([])
    for (const link of html.match(/<[a-z]+[^>]*href="(?!#)[^"]*"/g) ?? []) expect(link).toMatch(/^<a [^>]*href="https:\/\//)
  })

  it('gives the same content as JSON', () => {
    expect(JSON.parse(outputs.json)).toEqual(JSON.parse(JSON.stringify(register)))
  })

  it('is what docs/register.md holds (regenerate it with the command in docs/purposes.md)', () => {
    const doc = readFileSync(path.resolve('docs/register.md'), 'utf8')
    const dated = /^Généré le (\d{4}-\d{2}-\d{2}) /m.exec(doc)
    expect(dated).not.toBeNull()
    const { register: again } = loadRegister({ flowsDir: FLOWS_DIR, mappingsDir: MAPPINGS_DIR }, dated![1]!)
    expect(doc, 'docs/register.md is stale: regenerate it (docs/purposes.md, step 3)').toBe(renderRegister(again, 'md'))
  })
})

describe('the register follows the declarations', () => {
  it('changes when a mapping is edited', () => {
    const before = renderRegister(shipped().register, 'md')
    const mappings = tempCopy(MAPPINGS_DIR)
    const file = path.join(mappings, 'orientation.yaml')
    const text = readFileSync(file, 'utf8')
      .replace('  - { field: personne.activite, as: activite }\n', '  - { field: personne.activite, as: activite }\n  - { field: personne.sexe, as: sexe }\n')
      .replace('title: Orientation des bénéficiaires', 'title: Orientation modifiée des bénéficiaires')
    writeFileSync(file, text)
    const { register } = loadRegister({ flowsDir: FLOWS_DIR, mappingsDir: mappings }, '2026-11-23')
    const after = renderRegister(register, 'md')
    expect(after).not.toBe(before)
    expect(section(after, 'orientation')).toContain('| État civil | Sexe | `personne.sexe` | `sexe` |')
    expect(section(before, 'orientation')).not.toContain('`personne.sexe`')
    expect(after).toContain('Orientation modifiée des bénéficiaires')
    expect(register.dataMap.rows.find((r) => r.id === 'personne.sexe')!.cells.orientation).toBe('✓')
  })

  it('drops a field everywhere when the last purpose declaring it stops declaring it', () => {
    const mappings = tempCopy(MAPPINGS_DIR)
    const file = path.join(mappings, 'instruction.yaml')
    writeFileSync(file, readFileSync(file, 'utf8').replace('  - { field: personne.communeNaissance, as: communeNaissance }\n', ''))
    const { register } = loadRegister({ flowsDir: FLOWS_DIR, mappingsDir: mappings }, '2026-11-23')
    expect(register.neverStored.map((f) => f.id)).toContain('personne.communeNaissance')
    expect(register.dataMap.rows.find((r) => r.id === 'personne.communeNaissance')!.stored).toBe(false)
  })

  it('says "not found" for a retention policy it cannot find', () => {
    // loadDeclarations refuses such declarations (below); the register built from them says so plainly.
    const purposes = loadPurposes(MAPPINGS_DIR)
    purposes.set('statistiques', { ...purposes.get('statistiques')!, retention: 'extraits-statistiques' })
    const register = buildRegister({ purposes, flows: loadFlows(FLOWS_DIR), retentionPolicies: loadRetentionPolicies(FLOWS_DIR), security: [], generatedOn: '2026-11-23' })
    const md = renderRegister(register, 'md')
    expect(section(md, 'statistiques')).toContain('Politique de la finalité : politique `extraits-statistiques` (introuvable : déclarer flows/retention/extraits-statistiques.yaml)')
    expect(renderRegister(register, 'html')).toContain('politique <code>extraits-statistiques</code> (introuvable')
  })

  it('is not built from declarations check rejects (no retention policies)', () => {
    const flows = tempCopy(FLOWS_DIR)
    rmSync(path.join(flows, 'retention'), { recursive: true })
    expect(() => loadRegister({ flowsDir: flows, mappingsDir: MAPPINGS_DIR }, '2026-11-23')).toThrow(/retention\/: no retention policy folder/)
  })
})

describe('security measures', () => {
  const flows = () => loadFlows(FLOWS_DIR).values()

  it('describe the embedded default and locally generated keys', () => {
    const text = securityMeasures(NO_KEYS, flows(), { stored: 56, catalogue: 61 }).map((m) => `${m.title}: ${m.detail}`).join('\n')
    expect(text).toContain('PGlite')
    expect(text).toContain('clé PASSERELLE_NIR_KEY absente de l\'environnement')
    expect(text).toContain('AES-256-GCM')
    expect(text).toContain('HMAC-SHA256')
    expect(text).toContain('SHA-256')
    expect(text).toContain('56 des 61 champs')
    expect(text).toContain("empreinte de la clé d'hôte du serveur vérifiée (CAF_SFTP_HOST_KEY)")
  })

  it('describe a PostgreSQL server and keys from the environment, without printing any secret', () => {
    const key = Buffer.alloc(32, 7).toString('base64')
    const config = { databaseUrl: 'postgres://passerelle:s3cret-password@db.internal:5432/passerelle', keys: { nir: key, index: key, pseudonym: key } }
    const measures = securityMeasures(config, flows(), { stored: 56, catalogue: 61 })
    const text = measures.map((m) => `${m.title}: ${m.detail}`).join('\n')
    expect(text).toContain('Serveur PostgreSQL désigné par DATABASE_URL')
    expect(text).toContain("clé PASSERELLE_NIR_KEY fournie par l'environnement")
    for (const secret of [key, 's3cret-password', 'db.internal']) expect(text).not.toContain(secret)
  })
})

describe('escaping', () => {
  const hostile = '<script>alert(1)</script> | *gras* [lien](javascript:x) & "q"'
  const build = (): Register => {
    const purposes = loadPurposes(MAPPINGS_DIR)
    const p = purposes.get('orientation')!
    purposes.set('orientation', { ...p, title: hostile, data_subjects: [hostile], recipients: [{ ...p.recipients[0]!, description: hostile }] })
    return buildRegister({ purposes, flows: loadFlows(FLOWS_DIR), retentionPolicies: loadRetentionPolicies(FLOWS_DIR), security: [{ title: hostile, detail: hostile }], generatedOn: '2026-11-23' })
  }

  it('escapes every declared text in the HTML page', () => {
    const html = renderRegister(build(), 'html')
    expect(html).not.toContain('<script>')
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt; | *gras* [lien](javascript:x) &amp; &quot;q&quot;')
  })

  it('escapes every declared text in the Markdown, so tables keep their columns', () => {
    const md = renderRegister(build(), 'md')
    expect(md).not.toContain('<script>')
    expect(md).not.toContain('[lien](javascript:x)')
    const summary = md.split('\n').find((l) => l.includes('(#finalite-orientation)'))!
    expect(summary.split(/(?<!\\)\|/).length).toBe(7) // 5 columns, the pipe in the title escaped
  })
})

function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;')
}
