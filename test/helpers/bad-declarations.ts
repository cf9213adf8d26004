import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'

const REPO_ROOT = path.resolve(import.meta.dirname, '../..')

/** One way to break the shipped declarations that `passerelle check` rejects, and the problem it must name. */
export interface DeclarationDefect {
  name: string
  /** Edits the copy (flows and mappings folders). */
  apply(dirs: { flowsDir: string; mappingsDir: string }): void
  problem: RegExp
}

function edit(file: string, from: string, to: string): void {
  const text = readFileSync(file, 'utf8')
  if (!text.includes(from)) throw new Error(`${file}: "${from}" not found (the shipped declaration changed: update the defect)`)
  writeFileSync(file, text.replace(from, to))
}

export const DEFECTS: DeclarationDefect[] = [
  {
    name: 'an undeclared Art. 9 field',
    apply: ({ mappingsDir }) =>
      edit(path.join(mappingsDir, 'orientation.yaml'), '  - { field: personne.nom, as: nom }\n', '  - { field: personne.nom, as: nom }\n  - { field: dossier.motifSuspensionVersement, as: motifSuspensionVersement }\n'),
    problem: /mappings\/orientation\.yaml: fields\[\d+\] \(dossier\.motifSuspensionVersement\)\.field: .*special-category data \(GDPR Art\. 9/,
  },
  {
    name: 'duplicate output names',
    apply: ({ mappingsDir }) => edit(path.join(mappingsDir, 'orientation.yaml'), '{ field: adresse.commune, as: commune }', '{ field: adresse.commune, as: codeCommune }'),
    problem: /mappings\/orientation\.yaml: fields\[\d+\] \(adresse\.commune\)\.as: exposed name "codeCommune" is already used/,
  },
  {
    name: 'an unknown retention policy',
    apply: ({ flowsDir }) => edit(path.join(flowsDir, 'orientations.yaml'), 'retention: rsa-beneficiaires', 'retention: rsa-beneficiaire'),
    problem: /flows\/orientations\.yaml: retention: unknown retention policy "rsa-beneficiaire"/,
  },
  {
    name: 'a partner-API flow with an unknown purpose',
    apply: ({ flowsDir }) => edit(path.join(flowsDir, 'france-travail-api.yaml'), '  purpose: instruction\n', '  purpose: instructions\n'),
    problem: /flows\/france-travail-api\.yaml: outbound\.purpose: unknown purpose "instructions"/,
  },
  {
    name: 'a partner-API flow writing a secret where its variable name goes',
    // A second API flow, so that the other defects of the shipped one are still cross-checked beside it.
    apply: ({ flowsDir }) => {
      const text = readFileSync(path.join(flowsDir, 'france-travail-api.yaml'), 'utf8')
      writeFileSync(path.join(flowsDir, 'france-travail-api-bis.yaml'), text.replace('client_secret_env: FT_API_CLIENT_SECRET', 'client_secret_env: s3cr3t-value'))
    },
    problem: /flows\/france-travail-api-bis\.yaml: source\.client_secret_env: must be the NAME of an environment variable/,
  },
]

/** A copy of the shipped flows/ and mappings/ with `defects` applied (named `flows` and `mappings`, as messages name them). */
export function declarationsWith(defects: readonly DeclarationDefect[]): { flowsDir: string; mappingsDir: string } {
  const root = mkdtempSync(path.join(tmpdir(), 'passerelle-declarations-'))
  const dirs = { flowsDir: path.join(root, 'flows'), mappingsDir: path.join(root, 'mappings') }
  cpSync(path.join(REPO_ROOT, 'flows'), dirs.flowsDir, { recursive: true })
  cpSync(path.join(REPO_ROOT, 'mappings'), dirs.mappingsDir, { recursive: true })
  for (const defect of defects) defect.apply(dirs)
  return dirs
}
