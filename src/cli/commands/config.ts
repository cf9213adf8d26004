import type { Command } from 'commander'
import { ConfigError, EX_CONFIG, loadConfig, showSettings, SETTINGS, type Config } from '../../config/config.ts'
import { loadDeclarations } from '../../declarations/load-declarations.ts'
import type { SftpSource } from '../../flows/flow.ts'
import { resolveDecryption } from '../../ingestion/decrypt/decryption-stage.ts'
import { resolveSftpSource } from '../../sftp/resolve-source.ts'
import { reportsItsOwnConfig, settingOverrides } from '../main.ts'

/** Prefixes of variables that are not settings of the gateway itself (test and benchmark harnesses). */
const NOT_SETTINGS = /^PASSERELLE_(TEST|TESTS|BENCH)_|^PASSERELLE_EXTRACT_KEY_/

interface SftpReport {
  /** `flow caf-beneficiaires` or `extract statistiques → drees`. */
  target: string
  state: 'configured' | 'not configured' | 'invalid'
  /** Variable names (never values) and what is wrong with them. */
  detail: string
}

export function register(program: Command): void {
  reportsItsOwnConfig(
    program
      .command('config')
      .description('show every setting (secrets redacted) and the SFTP variables the flows name, and check them (exit 78 when one is bad)')
      .option('--json', 'print JSON')
      .action((options: { json?: boolean }, command: Command) => {
        // The entry point's environment, read here because this command reports a bad configuration itself.
        const env = process.env
        const problems: string[] = []
        let config: Config | undefined
        try {
          config = loadConfig(env, settingOverrides(command))
        } catch (error) {
          if (!(error instanceof ConfigError)) throw error
          problems.push(...error.problems)
        }
        const settings = showSettings(env)
        const sftp = config ? sftpReports(config, env, problems) : []
        const unknown = Object.keys(env)
          .filter((name) => name.startsWith('PASSERELLE_') && !(name in SETTINGS) && !NOT_SETTINGS.test(name))
          .sort()
        if (options.json) {
          process.stdout.write(JSON.stringify({ settings, sftp, unknownVariables: unknown, problems }, null, 2) + '\n')
        } else {
          const width = Math.max(...settings.map((s) => s.variable.length))
          const lines = settings.map((s) => `${s.variable.padEnd(width)}  ${s.value}${s.source === 'environment' || s.source === 'unset' ? '' : `  (${s.source})`}`)
          if (sftp.length > 0) lines.push('', 'SFTP sources and destinations, decryption keys (variables named by the declarations):')
          for (const r of sftp) lines.push(`  ${r.target}: ${r.state}${r.detail ? ` (${r.detail})` : ''}`)
          if (unknown.length > 0) lines.push('', `unknown variables, ignored (a typo?): ${unknown.join(', ')}`)
          process.stdout.write(lines.join('\n') + '\n')
        }
        if (problems.length > 0) {
          process.stderr.write(`passerelle: ${new ConfigError(problems).message}\n`)
          process.exitCode = EX_CONFIG
        }
      }),
  )
}

/**
 * Each flow source and extract destination against the environment: configured, not configured (none of its variables
 * set: its scheduled pull or push will fail until they are), or invalid (some set, or set wrong: a problem).
 */
function sftpReports(config: Config, env: NodeJS.ProcessEnv, problems: string[]): SftpReport[] {
  let declarations
  try {
    declarations = loadDeclarations(config)
  } catch (error) {
    problems.push(`declarations: ${(error as Error).message}`)
    return []
  }
  const targets: { target: string; id: string; source: SftpSource }[] = []
  for (const flow of declarations.flows.values()) if (flow.source) targets.push({ target: `flow ${flow.id}`, id: flow.id, source: flow.source })
  for (const [purposeId, statistics] of declarations.statistics) {
    for (const recipient of statistics.recipients) {
      if (!recipient.sftp) continue
      const source = { ...recipient.sftp, pattern: '.*', min_age_seconds: 0 } as unknown as SftpSource
      targets.push({ target: `extract ${purposeId} → ${recipient.id}`, id: `${purposeId}:${recipient.id}`, source })
    }
  }
  const reports: SftpReport[] = targets.map(({ target, id, source }) => {
    const names = variablesOf(source)
    const set = names.filter((n) => (env[n] ?? '').trim() !== '')
    if (set.length === 0) return { target, state: 'not configured', detail: `${names.join(', ')} unset` }
    try {
      resolveSftpSource(source, id, env)
      return { target, state: 'configured', detail: set.join(', ') }
    } catch (error) {
      const message = (error as Error).message
      problems.push(message)
      return { target, state: 'invalid', detail: message }
    }
  })
  // The certificate and private key of flows whose files arrive encrypted (`decrypt:`): none set is "not
  // configured" (its files will wait), some set or a key that does not fit its certificate is a problem.
  for (const flow of declarations.flows.values()) {
    if (!flow.decrypt) continue
    const target = `decryption of flow ${flow.id}`
    const names = [flow.decrypt.certificate_env, flow.decrypt.private_key_env]
    const set = names.filter((n) => (env[n] ?? '').trim() !== '')
    if (set.length === 0) {
      reports.push({ target, state: 'not configured', detail: `${names.join(', ')} unset` })
      continue
    }
    try {
      resolveDecryption(flow.decrypt, flow.id, env)
      reports.push({ target, state: 'configured', detail: set.join(', ') })
    } catch (error) {
      const message = error instanceof ConfigError ? error.problems.join('; ') : (error as Error).message
      problems.push(message)
      reports.push({ target, state: 'invalid', detail: message })
    }
  }
  // The recipient code a flow checks its files against (the département's, PASSERELLE_DEPARTEMENT): unset, its
  // files wait (a ConfigError at each pull), never rejected.
  for (const flow of declarations.flows.values()) {
    if (flow.format.type !== 'xml-records') continue
    const recipient = flow.format.header?.recipient ?? flow.format.trailer?.recipient
    if (!recipient) continue
    const value = (env[recipient.env] ?? '').trim()
    reports.push({ target: `recipient of flow ${flow.id}`, state: value ? 'configured' : 'not configured', detail: value ? `${recipient.env}=${value}` : `${recipient.env} unset` })
  }
  return reports
}

/** The environment variables a source names: `${VAR}` in host, port and user, and its `*_env` fields. */
function variablesOf(source: SftpSource): string[] {
  const names = new Set<string>()
  for (const template of [source.host, source.port, source.user]) {
    if (typeof template !== 'string') continue
    for (const match of template.matchAll(/\$\{([A-Z_][A-Z0-9_]*)(?::-[^}]*)?\}/g)) names.add(match[1]!)
  }
  for (const name of [source.private_key_env, source.passphrase_env, source.password_env, source.host_key_env]) if (name) names.add(name)
  return [...names]
}
