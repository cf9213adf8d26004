import { Command, CommanderError } from 'commander'
import { readdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { ConfigError } from '../config/config.ts'

/**
 * The `passerelle` command. Each file of ./commands exports `register(program)` adding one command (or a group),
 * so features add commands without touching this file.
 */
export async function buildProgram(): Promise<Command> {
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
      process.stderr.write(`${error.message}\n`)
      process.exitCode = 78
      return
    }
    // Operator-facing message; our errors never carry personal values.
    process.stderr.write(`passerelle: ${(error as Error).message}\n`)
    if (process.env.LOG_LEVEL === 'debug') process.stderr.write(`${(error as Error).stack}\n`)
    process.exitCode = 1
  }
}
