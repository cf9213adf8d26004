import { readFileSync } from 'node:fs'
import { parse as parseYaml } from 'yaml'
import { CsvRecordsDeclarationSchema } from './src/ingestion/formats/csv-records/declaration.ts'
import { CsvColumns } from './src/ingestion/formats/csv-records/read-csv-declared.ts'
import { SPIE_LIKE_CSV } from './bench/generic-files.ts'
const d = CsvRecordsDeclarationSchema.parse(parseYaml(SPIE_LIKE_CSV))
const lines = readFileSync('bench/out/parse-generic-100000.csv', 'utf8').split('\n').filter(Boolean)
const header = lines.shift()!.split(';')
const rows = lines.map((l) => l.split(';'))
const plan = new CsvColumns(d, 'records')
const cols = plan.fromHeader(header, { line: 1, where: 'x' })
for (let round = 0; round < 3; round++) {
  const t0 = performance.now()
  let ok = 0
  for (let i = 0; i < rows.length; i++) if (plan.record(rows[i]!, cols, { recordIndex: i, line: i + 2 }, { 'franceTravail.etat': 'inscription' }).ok) ok++
  console.log('build', ok, (performance.now() - t0).toFixed(0), 'ms')
}
const t1 = performance.now()
for (let r = 0; r < 3; r++) for (const l of lines) l.split(';')
console.log('split x3', (performance.now() - t1).toFixed(0), 'ms')
