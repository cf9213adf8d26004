import { createHash } from 'node:crypto'
import { existsSync, mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { csvLine, writeCsvFile } from '../../src/statistics/csv-file.ts'

describe('extract CSV', () => {
  it('quotes what needs quoting and leaves numbers and codes alone', () => {
    expect(csvLine(['a,b', 'say "hi"', 'x\ny', 12, null, NaN, '1980-1989'], ',')).toBe('"a,b","say ""hi""","x\ny",12,,,1980-1989\n')
    // Either separator is quoted: a spreadsheet set to the other one would split the cell there.
    expect(csvLine(['a;b', 'a,b'], ';')).toBe('"a;b";"a,b"\n')
  })

  it('neutralises what a spreadsheet would run as a formula, not negative numbers', () => {
    expect(csvLine(['=SUM(A1)', '+33', '-12.5', '@x'], ',')).toBe("'=SUM(A1),'+33,-12.5,'@x\n")
    // After leading blanks or a line break too, and behind the other separator (quoted whole).
    expect(csvLine([' =1+1', '\n=1+1', 'a;=1+1', '\tx'], ',')).toBe(`' =1+1,"'\n=1+1","a;=1+1",'\tx\n`)
  })

  it('writes the file whole under its name, with the digest of its bytes', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'passerelle-csv-'))
    const file = path.join(dir, 'out.csv')
    const rows = Array.from({ length: 50_000 }, (_, i) => [`p${i}`, i % 7, 'é'])
    const written = await writeCsvFile(file, ['pseudonyme', 'n', 'texte'], rows)
    const bytes = readFileSync(file)
    expect(written.sha256).toBe(createHash('sha256').update(bytes).digest('hex'))
    expect(written.bytes).toBe(bytes.length)
    expect(written.rows).toBe(50_000)
    expect(bytes.toString('utf8').split('\n')[0]).toBe('pseudonyme,n,texte')
    expect(existsSync(`${file}.partial`)).toBe(false)
  })
})
