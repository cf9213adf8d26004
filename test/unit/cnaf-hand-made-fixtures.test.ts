import { VRSB0801_XSD } from '../helpers/xsd.ts'
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const XSD = VRSB0801_XSD
const hasXmllint = spawnSync('xmllint', ['--version']).status === 0 && existsSync(XSD)
if (!hasXmllint) console.log('[passerelle tests] xmllint or vrsb0801.xsd not found: the hand-made CNAF fixtures are not checked against the XSD')

const fixture = (name: string) => fileURLToPath(new URL(`../../fixtures/cnaf/${name}`, import.meta.url))

describe.skipIf(!hasXmllint)('hand-made CNAF fixtures', () => {
  it.each(['rsabem-rich.cp1252.xml', 'rsabei-minimal.utf8.xml', 'comments-cdata.iso-8859-15.xml'])('%s validates against vrsb0801.xsd', (name) => {
    const result = spawnSync('xmllint', ['--noout', '--schema', XSD, fixture(name)], { encoding: 'utf8' })
    expect(result.stderr.trim().split('\n').at(-1)).toBe(`${fixture(name)} validates`)
    expect(result.status).toBe(0)
  })
})
