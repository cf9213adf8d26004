import { describe, expect, it } from 'vitest'
import { CANONICAL_FIELDS, isFieldId, type FieldId } from '../../src/model/fields.ts'

describe('FieldId', () => {
  it('is the catalogue ids: a typo fails to compile (checked by npm run typecheck)', () => {
    const known: FieldId = 'personne.nom'
    // @ts-expect-error: not a catalogue id
    const typo: FieldId = 'personne.nomm'
    expect(isFieldId(known)).toBe(true)
    expect(isFieldId(typo)).toBe(false)
    const ids: readonly string[] = CANONICAL_FIELDS.map((f) => f.id)
    expect(new Set(ids).size).toBe(ids.length)
  })
})
