import { execFile } from 'node:child_process'
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { afterAll, describe, expect, it } from 'vitest'

const run = promisify(execFile)
const root = mkdtempSync(path.join(tmpdir(), 'passerelle-check-cli-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))

/** Runs the real `passerelle` command, as .ci/run does, with a clean environment. */
async function passerelle(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, PASSERELLE_DATA_DIR: path.join(root, 'var'), LOG_LEVEL: 'silent' }
  try {
    const { stdout, stderr } = await run(process.execPath, [path.resolve('bin/passerelle.js'), ...args], { env, cwd: path.resolve('.') })
    return { code: 0, stdout, stderr }
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string }
    return { code: e.code, stdout: e.stdout, stderr: e.stderr }
  }
}

describe('passerelle check', () => {
  it('says OK with counts on the shipped declarations', async () => {
    const { code, stdout } = await passerelle('check')
    expect(code).toBe(0)
    expect(stdout).toMatch(/^OK: 5 purposes, \d+ flows, \d+ retention policies\n/)
    expect(stdout).toContain('never stored (no purpose declares them): adresse.horsFrance, personne.prenom3, franceTravail.codeInsee')
  })

  it('prints every problem and exits non-zero', async () => {
    const mappings = path.join(root, 'mappings')
    cpSync(path.resolve('mappings'), mappings, { recursive: true })
    const file = path.join(mappings, 'orientation.yaml')
    writeFileSync(
      file,
      readFileSync(file, 'utf8')
        .replace('{ field: personne.nom, as: nom }', '{ field: personne.nomm, as: nom }')
        .replace('retention: rsa-beneficiaires', 'retention: pour-toujours'),
    )
    const { code, stdout, stderr } = await passerelle('check', '--mappings', mappings)
    expect(code).toBe(1)
    expect(stdout).toBe('')
    expect(stderr).toContain('2 problem(s):')
    expect(stderr).toContain('mappings/orientation.yaml: retention: unknown retention policy "pour-toujours" (known: france-travail, france-travail-api, rsa-beneficiaires)')
    expect(stderr).toMatch(/mappings\/orientation\.yaml: fields\[10\] \(personne\.nomm\)\.field: unknown canonical field "personne\.nomm" \(known, closest first: personne\.nom,/)
  })

  it('checks the statistics section of a statistical purpose', async () => {
    const mappings = path.join(root, 'mappings-statistics')
    cpSync(path.resolve('mappings'), mappings, { recursive: true })
    const file = path.join(mappings, 'statistiques.yaml')
    writeFileSync(file, readFileSync(file, 'utf8').replace('sensitive: [etatDroit, ', 'sensitive: [etatDroitt, '))
    const { code, stderr } = await passerelle('check', '--mappings', mappings)
    expect(code).toBe(1)
    expect(stderr).toContain('mappings-statistics/statistiques.yaml: purpose "statistiques": statistics.sensitive[0]: "etatDroitt" is not a column of the purpose')
  })
})

describe('passerelle register', () => {
  it('writes the register in the format asked', async () => {
    const out = path.join(root, 'register.html')
    const { code, stderr } = await passerelle('register', '--format', 'html', '--out', out, '--date', '2026-01-31')
    expect(code).toBe(0)
    expect(stderr).toContain('register written to')
    const html = readFileSync(out, 'utf8')
    expect(html).toContain('<html lang="fr">')
    expect(html).toContain('Généré le 2026-01-31')
    const json = await passerelle('register', '--format', 'json')
    expect(JSON.parse(json.stdout).purposes).toHaveLength(5)
  })

  it('refuses an unknown format', async () => {
    const { code, stderr } = await passerelle('register', '--format', 'pdf')
    expect(code).not.toBe(0)
    expect(stderr).toMatch(/Allowed choices are md, html, json/)
  })
})
