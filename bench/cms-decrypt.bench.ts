/**
 * Decryption of an S/MIME (CMS enveloped-data) file as it streams, against the openssl binary's own
 * `openssl cms -decrypt` on the same file as the baseline; MB/s of clear text and peak resident memory of each
 * process (the whole process, as `/usr/bin/time -f %M` would report it: measured with getrusage maxrss).
 *   npm run bench:cms-decrypt [-- --mb 200]
 */
import { execFileSync, spawnSync } from 'node:child_process'
import { createReadStream, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { decryptCms } from '../src/ingestion/decrypt/cms-decrypt.ts'

const mbArg = process.argv.indexOf('--mb')
const megabytes = mbArg > 0 ? Number(process.argv[mbArg + 1]) : 200

if (process.argv[2] === '--child') {
  const [, , , file, key, cert] = process.argv
  const start = performance.now()
  let bytes = 0
  for await (const chunk of decryptCms(createReadStream(file!, { highWaterMark: 1 << 20 }), { privateKeyPem: readFileSync(key!, 'utf8'), certificatePem: readFileSync(cert!, 'utf8') })) bytes += (chunk as Buffer).length
  const seconds = (performance.now() - start) / 1000
  console.log(JSON.stringify({ bytes, seconds, maxRssMb: process.resourceUsage().maxRSS / 1024 }))
  process.exit(0)
}

const work = mkdtempSync(path.join(tmpdir(), 'bench-cms-'))
try {
  const f = (n: string) => path.join(work, n)
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('k.pem'), '-out', f('c.pem'), '-subj', '/CN=bench', '-days', '1'], { stdio: 'ignore' })
  // A SPIE-like CSV: `;`-separated, UTF-8, NULL literals, datetimes.
  const line = '1234567A;GUIDE;2020-02-13 00:00:00.0;NULL;O;M1805;Conseiller;2021-03-01 00:00:00.0;OUI\n'
  const block = line.repeat(Math.ceil((1 << 20) / line.length))
  writeFileSync(f('clear.csv'), '')
  for (let i = 0; i < megabytes; i++) writeFileSync(f('clear.csv'), block, { flag: 'a' })
  execFileSync('openssl', ['cms', '-encrypt', '-binary', '-stream', '-aes-256-cbc', '-outform', 'DER', '-in', f('clear.csv'), '-out', f('enc.der'), f('c.pem')])
  rmSync(f('clear.csv'))
  const size = statSync(f('enc.der')).size / 1e6

  const ours = spawnSync(process.execPath, ['--import', 'tsx', import.meta.filename, '--child', f('enc.der'), f('k.pem'), f('c.pem')], { encoding: 'utf8' })
  const result = JSON.parse(ours.stdout) as { bytes: number; seconds: number; maxRssMb: number }
  const t0 = performance.now()
  const base = spawnSync('/usr/bin/time', ['-f', '%M', 'openssl', 'cms', '-decrypt', '-binary', '-inform', 'DER', '-in', f('enc.der'), '-inkey', f('k.pem'), '-recip', f('c.pem'), '-out', '/dev/null'], { encoding: 'utf8' })
  const baseSeconds = (performance.now() - t0) / 1000
  const baseRss = Number(base.stderr.trim().split('\n').pop()) / 1024
  console.log(`encrypted file: ${size.toFixed(0)} MB (AES-256-CBC, RSA key transport)`)
  console.log(`passerelle decryptCms   ${(result.bytes / 1e6 / result.seconds).toFixed(0).padStart(5)} MB/s  peak RSS ${result.maxRssMb.toFixed(0)} MB`)
  console.log(`openssl cms -decrypt    ${(result.bytes / 1e6 / baseSeconds).toFixed(0).padStart(5)} MB/s  peak RSS ${baseRss.toFixed(0)} MB (baseline, whole file in memory)`)
} finally {
  rmSync(work, { recursive: true, force: true })
}
