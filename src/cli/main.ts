import { Command, CommanderError } from 'commander'
import { readdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { ConfigError, EX_CONFIG, loadConfig, type SettingOverride } from '../config/config.ts'
import { DeclarationError } from '../declarations/declaration-error.ts'
import { log } from '../log/logger.ts'
import { useConfig } from './context.ts'

/**
 * Command options that override a setting, wherever a command declares them: validated by the setting's own rule,
 * in the same pass as every other setting (so `serve --port abc` exits 78 at once, before keys or migrations).
 */
const OPTION_SETTINGS: Record<string, SettingOverride['variable']> = {
  port: 'PORT',
  host: 'PASSERELLE_HOST',
  flows: 'PASSERELLE_FLOWS_DIR',
  mappings: 'PASSERELLE_MAPPINGS_DIR',
}

/** Commands that report a bad configuration themselves instead of stopping before they run (`passerelle config`). */
const REPORTS_ITS_OWN_CONFIG = new WeakSet<Command>()
export function reportsItsOwnConfig(command: Command): Command {
  REPORTS_ITS_OWN_CONFIG.add(command)
  return command
}

/** The overrides given on the command line of `command`, named as typed (`--port`). */
export function settingOverrides(command: Command): SettingOverride[] {
  const options = command.opts<Record<string, unknown>>()
  return Object.entries(OPTION_SETTINGS).flatMap(([key, variable]) => {
    const value = options[key]
    return typeof value === 'string' ? [{ variable, option: `--${key}`, value }] : []
  })
}

/**
 * The `passerelle` command. Each file of ./commands exports `register(program)` adding one command (or a group),
 * so features add commands without touching this file.
 */
export async function buildProgram(env: NodeJS.ProcessEnv = process.env): Promise<Command> {
  const program = new Command('passerelle')
    .description('Passerelle: RSA data exchange gateway (CAF, MSA, France Travail)')
    .version('0.1.0')
    .showHelpAfterError()
  const dir = fileURLToPath(new URL('./commands/', import.meta.url))
  const files = readdirSync(dir).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts')).sort()
  for (const file of files) {
    const mod = (await import(new URL(`./commands/${file}`, import.meta.url).href)) as { register?: (p: Command) => void }
    mod.register?.(program)
  }
  // Every setting is parsed here, once, after the command line and before the command runs (before any I/O):
  // help and usage errors need no valid settings; every command then gets the same validated configuration.
  program.hook('preAction', (_program, action) => {
    if (REPORTS_ITS_OWN_CONFIG.has(action)) return
    useConfig(loadConfig(env, settingOverrides(action)))
  })
  return program
}

export async function main(argv: string[]): Promise<void> {
  const program = await buildProgram()
  program.exitOverride()
  try {
    await program.parseAsync(argv)
  } catch (error) {
    if (error instanceof CommanderError) {
      process.exitCode = error.exitCode
      return
    }
    if (error instanceof ConfigError) {
      process.stderr.write(`passerelle: ${error.message}\n`)
      process.exitCode = EX_CONFIG
      return
    }
    if (error instanceof DeclarationError) {
      process.stderr.write(`passerelle: the declarations have ${error.problems.length} problem(s) (passerelle check lists them):\n${error.problems.map((p) => `  ${p}\n`).join('')}`)
      process.exitCode = EX_CONFIG
      return
    }
    // Operator-facing message; our errors never carry personal values.
    process.stderr.write(`passerelle: ${(error as Error).message}\n`)
    if (log.level === 'debug' || log.level === 'trace') process.stderr.write(`${(error as Error).stack}\n`)
    // A port or host setting this machine cannot use (ListenError names it) is a configuration error.
    process.exitCode = (error as { code?: unknown }).code === 'listen_failed' ? EX_CONFIG : 1
  }
}
