import { parse as parseYaml } from 'yaml'
import { statSync } from 'node:fs'
import { CsvRecordsDeclarationSchema } from './src/ingestion/formats/csv-records/declaration.ts'
import { readCsvDeclared } from './src/ingestion/formats/csv-records/read-csv-declared.ts'
import { SPIE_LIKE_CSV } from './bench/generic-files.ts'
const file = 'bench/out/parse-generic-100000.csv'
const mb = statSync(file).size / 1e6
const d = CsvRecordsDeclarationSchema.parse(parseYaml(SPIE_LIKE_CSV))
const c0 = process.cpuUsage()
let n = 0
for await (const b of readCsvDeclared(file, d, { kind: 'records', fileLabel: 'x' })) n += b.length
const cpu = process.cpuUsage(c0); const s = (cpu.user + cpu.system) / 1e6
console.log(n, (mb / s).toFixed(1), 'MB/cpu-s')
