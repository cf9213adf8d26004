import path from 'node:path'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { testKeys } from '../../src/crypto/keys.ts'
import { canonicalRecordFromRow, purposeFields } from '../../src/model/canonical-records.ts'
import { loadPurposes } from '../../src/purposes/load-purposes.ts'
import { project } from '../../src/purposes/project.ts'
import { exposedName } from '../../src/purposes/purpose.ts'
import { ExtractDatasetBuilder } from '../../src/statistics/dataset.ts'
import { statisticsOf } from '../../src/statistics/declaration.ts'
import { columnProjection } from '../../src/statistics/fieldwise-projection.ts'

const purposes = loadPurposes(path.resolve(import.meta.dirname, '../../mappings'))

/** A stored value as the drivers hand it: dates as strings, integers as numbers, numerics as strings... */
const raw = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer({ min: -5, max: 40 }),
  fc.constantFrom('1984-03-02', '2000-12-31', '1999', '93200', '2A004', '97411', 'CAF', 'MAR', 'DEM', 'inscription', '2', '', ' 75001 ', '123.45'),
  fc.string({ maxLength: 12 }),
)

describe('column-by-column projection', () => {
  it('lets out exactly what project() lets out row by row, for every declared column of every purpose (property)', () => {
    const asOf = new Date('2026-05-01T00:00:00Z')
    for (const purpose of purposes.values()) {
      const fields = purposeFields(purpose).filter((f) => f.type !== 'nir')
      const declared = purpose.fields.filter((f) => f.transform !== 'omit' && fields.some((c) => c.id === f.field))
      // Consent-conditioned fields read a second field: refused column by column (the referents' and the
      // instruction's purposes have some; no statistical purpose does).
      for (const f of declared.filter((d) => d.consent)) expect(() => columnProjection(purpose, exposedName(f), { asOf })).toThrow('conditioned on consent')
      const columns = declared.filter((f) => !f.consent).map((f) => columnProjection(purpose, exposedName(f), { asOf }))
      fc.assert(
        fc.property(fc.array(raw, { minLength: fields.length, maxLength: fields.length }), (values) => {
          const row = Object.fromEntries(fields.map((f, i) => [f.id, values[i]]))
          const expected = project(canonicalRecordFromRow(row, fields, testKeys()), { fields: purpose.fields.filter((f) => fields.some((c) => c.id === f.field)) }, { asOf })
          // Twice: the remembered value is the computed one.
          for (let round = 0; round < 2; round++) for (const c of columns) expect(c.value(row[c.fieldId])).toEqual(expected[c.column])
        }),
        { numRuns: 200 },
      )
    }
  })

  it('refuses a column the purpose does not declare', () => {
    expect(() => columnProjection(purposes.get('statistiques')!, 'nom', {})).toThrow('column "nom" is not declared by the purpose')
  })

  it('builds the same columns from stored rows as from projected records', () => {
    const purpose = purposes.get('statistiques')!
    const stats = statisticsOf(purpose)
    const fields = purposeFields(purpose)
    const asOf = new Date('2026-05-01T00:00:00Z')
    const key = Buffer.alloc(32, 4)
    const byRecord = new ExtractDatasetBuilder(stats, key)
    const byStored = new ExtractDatasetBuilder(stats, key)
    const projections = byStored.columns.map((c) => columnProjection(purpose, c, { asOf }))
    fc.assert(
      fc.property(fc.array(raw, { minLength: fields.length, maxLength: fields.length }), fc.string({ minLength: 1, maxLength: 20 }), (values, personKey) => {
        const row = Object.fromEntries(fields.map((f, i) => [f.id, values[i]]))
        byRecord.add(project(canonicalRecordFromRow(row, fields, testKeys()), purpose, { asOf }), personKey)
        byStored.addStored(row, projections, personKey)
      }),
      { numRuns: 300 },
    )
    const a = byRecord.build()
    const b = byStored.build()
    const labels = (d: typeof a) => [
      ...d.quasiIdentifiers.map((q) => Array.from(q.codes, (c) => q.levelLabels[0]![q.levelMaps[0]![c]!])),
      ...d.sensitive.map((s) => Array.from(s.codes, (c) => s.labels[c])),
    ]
    expect(labels(b)).toEqual(labels(a))
    expect(b.pseudonyms!.buffer.subarray(0, b.rows * 16)).toEqual(a.pseudonyms!.buffer.subarray(0, a.rows * 16))
  })
})
