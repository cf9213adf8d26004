/** The France Travail simulator in a process of its own (so the benchmark measures the connector's CPU alone). */
import { startFranceTravailSimulator } from '../src/simulators/france-travail/france-travail-simulator.ts'

const persons = Number(process.env.SIM_PERSONS ?? 0)
const quota = Number(process.env.SIM_QUOTA ?? 200)
const latency = Number(process.env.SIM_LATENCY_MS ?? 20)
const nirOf = (n: number) => `2${String(50 + (n % 50)).padStart(2, '0')}0193${String(n).padStart(6, '0')}`.slice(0, 13)
const birthOf = (n: number) => `19${String(50 + (n % 50)).padStart(2, '0')}-0${1 + (n % 9)}-1${n % 10}`
const sim = await startFranceTravailSimulator({
  quotaPerSecond: quota,
  faults: { latencyMs: latency },
  persons: Array.from({ length: persons }, (_, i) => ({ nir: nirOf(i + 1), dateNaissance: birthOf(i + 1), identifiant: `FT${String(i + 1).padStart(8, '0')}` })),
})
process.stdout.write(`${JSON.stringify({ url: sim.url, tokenUrl: sim.tokenUrl, clientId: sim.clientId, clientSecret: sim.clientSecret })}\n`)
// Its own CPU is reported too: on a 2-core machine it competes with the connector.
process.stdin.on('data', () => {
  const cpu = process.cpuUsage()
  process.stdout.write(`${JSON.stringify({ ...sim.stats(), cpuSeconds: (cpu.user + cpu.system) / 1e6 })}\n`)
})
process.stdin.on('end', () => void sim.close().then(() => process.exit(0)))
