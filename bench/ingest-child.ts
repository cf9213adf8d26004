/**
 * Child process of bench/ingest.bench.ts: one measured run, alone in its process so that its peak RSS is its own.
 *   mode pull   — the product path: SFTP pull → parse → validate → load into PostgreSQL (one transaction)
 *   mode fxp    — baseline: fast-xml-parser (default options) alone, record by record, on the same file
 * Prints one JSON line: { seconds, maxRssMb, ... }.
 */
import { createReadStream } from 'node:fs'
import { XMLParser } from 'fast-xml-parser'
import { testKeys } from '../src/crypto/keys.ts'
import { openPostgres } from '../src/db/postgres.ts'
import { loadDeclarations } from '../src/declarations/load-declarations.ts'
import type { Flow } from '../src/flows/flow.ts'
import { pullFlow } from '../src/ingestion/pull-flow.ts'
import { createLogger } from '../src/log/logger.ts'

const [mode, arg1, arg2] = process.argv.slice(2)
const started = performance.now()

if (mode === 'pull') {
  const input = JSON.parse(arg1!) as { databaseUrl: string; flow: Flow; env: Record<string, string>; stagingDir: string }
  const db = await openPostgres(input.databaseUrl)
  const declarations = loadDeclarations({ flowsDir: 'flows', mappingsDir: 'mappings' })
  const outcomes = await pullFlow(
    {
      db,
      keys: testKeys(),
      log: createLogger({ level: 'warn' }),
      stored: declarations.stored,
      purposes: declarations.purposes,
      config: { stagingDir: input.stagingDir, sftp: { retries: 2, retryDelayMs: 500 } },
      env: input.env,
    },
    input.flow,
  )
  await db.close()
  const o = outcomes[0]
  print({ status: o?.status, accepted: o?.accepted, rejected: o?.rejected, reason: o?.reason })
} else if (mode === 'fxp') {
  const parser = new XMLParser()
  let records = 0
  let carry = ''
  const close = '</InfosFoyerRSA>'
  for await (const chunk of createReadStream(arg1!, { encoding: 'latin1', highWaterMark: 1 << 20 })) {
    carry += chunk as string
    let from = 0
    for (;;) {
      const start = carry.indexOf('<InfosFoyerRSA>', from)
      const end = carry.indexOf(close, start)
      if (start < 0 || end < 0) break
      parser.parse(carry.slice(start, end + close.length))
      records += 1
      from = end + close.length
    }
    carry = carry.slice(from)
  }
  print({ records })
} else {
  throw new Error(`unknown mode ${mode} ${arg2 ?? ''}`)
}

function print(extra: Record<string, unknown>) {
  const seconds = (performance.now() - started) / 1000
  const maxRssMb = Math.round(process.resourceUsage().maxRSS / 1024)
  process.stdout.write(JSON.stringify({ seconds, maxRssMb, ...extra }) + '\n')
}
