import AxeBuilder from '@axe-core/playwright'
import { existsSync, mkdirSync } from 'node:fs'
import path from 'node:path'
import { Writable } from 'node:stream'
import { chromium, type Browser, type Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { testKeys } from '../../src/crypto/keys.ts'
import { createLogger } from '../../src/log/logger.ts'
import { buildWorld, testPurposes, type World } from '../helpers/api-seed.ts'
import { startConsoleWorld, type ConsoleWorld } from '../helpers/console-world.ts'
import { createTestDatabase, postgresUnavailable, testBackend, type TestDatabase } from '../helpers/database.ts'

/**
 * The console in a real browser (Debian's chromium, driven by playwright-core): each role signs in through the local
 * OpenID Connect provider, does its main task, and signs out; axe-core checks every page (no serious or critical
 * violation) and a screenshot of each is written to test-output/console/ (not committed). Personal values typed or
 * shown (a NIR, names) must appear in no log line.
 *
 * Without /usr/bin/chromium (a quick start without a browser) the suite is skipped with a notice. It runs on the
 * postgres project only: the pages are the same on PGlite, and a browser run costs a minute on two cores.
 */
const CHROMIUM = '/usr/bin/chromium'
const hasChromium = existsSync(CHROMIUM)
if (!hasChromium) console.warn(`console browser tests skipped: ${CHROMIUM} not found (apt-get install chromium)`)
const SHOTS = path.resolve('test-output/console')

describe.skipIf(!hasChromium || postgresUnavailable() || testBackend() !== 'postgres')('console in Chromium', () => {
  let t: TestDatabase
  let world: World
  let site: ConsoleWorld
  let browser: Browser
  const keys = testKeys()
  const purposes = testPurposes()
  const logLines: string[] = []
  const checked: { page: string; violations: { id: string; impact: string | null | undefined; nodes: number }[] }[] = []

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true })
    t = await createTestDatabase()
    world = await buildWorld(t.db, keys, purposes)
    const destination = new Writable({
      write(chunk, _encoding, done) {
        logLines.push(String(chunk))
        done()
      },
    })
    site = await startConsoleWorld(t.db, keys, purposes, world, { log: createLogger({ level: 'debug', destination }) })
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    })
  })
  afterAll(async () => {
    await browser?.close()
    await site?.close()
    await t?.drop()
  })

  /** axe-core on the page (zero serious or critical violations), and a screenshot named after it. */
  async function check(page: Page, name: string): Promise<void> {
    await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true })
    const result = await new AxeBuilder({ page }).analyze()
    const violations = result.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.length }))
    checked.push({ page: name, violations })
    expect({ page: name, serious: violations.filter((v) => v.impact === 'serious' || v.impact === 'critical') }).toEqual({ page: name, serious: [] })
    expect(await page.locator('main').count()).toBe(1)
    expect(await page.locator('html').getAttribute('lang')).toBe('fr')
  }

  async function signIn(page: Page, agentLabel: string): Promise<void> {
    await page.goto(`${site.url}/console`)
    await check(page, '00-accueil')
    await page.getByRole('link', { name: 'Se connecter' }).click()
    await page.getByRole('button', { name: agentLabel, exact: true }).click()
    await page.waitForURL((u) => u.origin === site.url && u.pathname !== '/console/auth/callback')
  }

  async function signOut(page: Page): Promise<void> {
    await page.getByRole('button', { name: 'Se déconnecter' }).click()
    // The provider's own sign-out page (RP-initiated logout), then back to the console's home.
    await page.getByRole('button', { name: 'Se déconnecter' }).click()
    await page.waitForURL(`${site.url}/console`)
    expect(await page.getByRole('link', { name: 'Se connecter' }).count()).toBe(1)
  }

  it('referent: signs in, finds a person in the portfolio, reads their page, signs out', async () => {
    const context = await browser.newContext({ locale: 'fr-FR' })
    const page = await context.newPage()
    await signIn(page, 'Agent refa1')
    expect(new URL(page.url()).pathname).toBe('/console/portefeuille')
    await check(page, '10-referent-portefeuille')
    await page.getByLabel('État du droit').selectOption('3')
    await page.getByRole('button', { name: 'Filtrer' }).click()
    await check(page, '11-referent-portefeuille-filtre')
    await page.getByLabel('État du droit').selectOption('')
    await page.getByRole('button', { name: 'Filtrer' }).click()
    await page.getByRole('link', { name: 'Prénom-0001 NOM-0001' }).click()
    await expect.poll(() => page.locator('h1').textContent()).toBe('Prénom-0001 NOM-0001')
    expect(await page.locator('main').textContent()).toContain('Situation France Travail')
    await check(page, '12-referent-fiche')
    // p4: the assignment ended on 5 June; read-only until the end of the grace period.
    await page.goto(`${site.url}/console/beneficiaires/${world.persons.p4!.publicId}`)
    expect(await page.locator('main').textContent()).toContain('Lecture seule')
    await check(page, '13-referent-fiche-lecture-seule')
    await signOut(page)
    await context.close()
  })

  it('DPO: records an access request, downloads the answer, closes it; sees who accessed the file; holds and register', async () => {
    const context = await browser.newContext({ locale: 'fr-FR', acceptDownloads: true })
    const page = await context.newPage()
    await signIn(page, 'Agent dpo')
    expect(new URL(page.url()).pathname).toBe('/console/dpo/demandes')
    await check(page, '20-dpo-demandes')
    await page.getByRole('link', { name: 'Enregistrer une demande' }).click()
    await check(page, '21-dpo-nouvelle-demande')
    await page.getByLabel('Droit exercé').selectOption('access')
    await page.getByLabel('NIR de la personne').fill(world.persons.p1!.nir13)
    await page.getByLabel('Date de naissance').fill(world.persons.p1!.dateNaissance)
    await page.getByRole('button', { name: 'Enregistrer' }).click()
    await expect.poll(() => page.locator('h1').textContent()).toMatch(/^Demande n° \d+ — Accès/)
    expect(await page.locator('main').textContent()).toContain('la personne a été retrouvée')
    await check(page, '22-dpo-demande')
    const downloading = page.waitForEvent('download')
    await page.getByRole('link', { name: /Télécharger la réponse/ }).click()
    const download = await downloading
    const file = path.join(SHOTS, 'reponse-acces.html')
    await download.saveAs(file)
    const answer = await (await import('node:fs/promises')).readFile(file, 'utf8')
    expect(answer).toContain('lang="fr"')
    expect(answer).toContain('NOM-0001')
    await page.getByLabel('Réponse donnée').selectOption('granted')
    await page.getByRole('button', { name: 'Enregistrer la réponse et clore' }).click()
    expect(await page.locator('main').textContent()).toContain('Réponse enregistrée')
    await check(page, '23-dpo-demande-close')
    await page.goto(`${site.url}/console/dpo/journal?beneficiaireId=${world.persons.p1!.publicId}`)
    expect(await page.locator('main').textContent()).toContain('refa1@test.example')
    await check(page, '24-dpo-qui-a-consulte')
    await page.getByRole('link', { name: 'Gels juridiques' }).click()
    await check(page, '25-dpo-gels')
    await page.getByRole('link', { name: 'Registre' }).click()
    await check(page, '26-dpo-registre')
    await signOut(page)
    await context.close()
  })

  it('admin: creates an assignment; organisations, users, tokens, runs', async () => {
    const context = await browser.newContext({ locale: 'fr-FR' })
    const page = await context.newPage()
    await signIn(page, 'Agent admin')
    expect(new URL(page.url()).pathname).toBe('/console/admin/organisations')
    await check(page, '30-admin-organisations')
    await page.getByRole('link', { name: 'Affectations' }).click()
    await check(page, '31-admin-affectations')
    await page.getByLabel('Identifiant de la personne').fill(world.persons.p9!.publicId)
    await page.getByLabel('Structure', { exact: true }).selectOption(world.orgs.B.siret)
    await page.getByLabel(/^Référent/).selectOption('refb@test.example')
    await page.getByRole('button', { name: 'Créer l’affectation' }).click()
    expect(await page.locator('main').textContent()).toContain('Affectation créée')
    const { rows } = await t.db.query<{ n: number }>('select count(*)::int as n from assignments where person_id = $1', [world.persons.p9!.personId])
    expect(rows[0]!.n).toBe(1)
    for (const [link, name] of [
      ['Utilisateurs', '32-admin-utilisateurs'],
      ['Jetons des logiciels', '33-admin-jetons'],
      ['Traitements et imports', '34-admin-executions'],
    ] as const) {
      await page.getByRole('link', { name: link }).click()
      await check(page, name)
    }
    await signOut(page)
    await context.close()
  })

  it('wrote no personal value to the logs', () => {
    const text = logLines.join('')
    for (const p of Object.values(world.persons)) {
      expect(text).not.toContain(p.nir13)
      expect(text).not.toContain(p.dateNaissance)
    }
    expect(text).not.toMatch(/NOM-\d{4}|Prénom-\d{4}/)
    console.log(`axe-core: ${checked.length} pages checked; minor/moderate findings: ${JSON.stringify(checked.flatMap((c) => c.violations.map((v) => `${c.page}:${v.id}:${v.impact}`)))}`)
  })
})
