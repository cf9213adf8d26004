import { Option, type Command } from 'commander'
import { writeFileSync } from 'node:fs'
import { cliConfig, cliDeclarations } from '../context.ts'
import { parisDay } from '../../calendar/paris-day.ts'
import { registerFromDeclarations, renderRegister, type RegisterFormat } from '../../register/register-from-declarations.ts'

export function register(program: Command): void {
  program
    .command('register')
    .description('render the GDPR Art. 30 register of processing activities from the declarations')
    .addOption(new Option('--format <format>', 'output format').choices(['md', 'html', 'json']).default('md'))
    .option('--out <file>', 'write to this file instead of the standard output')
    .option('--date <YYYY-MM-DD>', 'generation date printed in the register (default: today, Europe/Paris)')
    .option('--flows <dir>', 'flows directory (default: PASSERELLE_FLOWS_DIR or ./flows)')
    .option('--mappings <dir>', 'purposes directory (default: PASSERELLE_MAPPINGS_DIR or ./mappings)')
    .action((options: { format: RegisterFormat; out?: string; date?: string; flows?: string; mappings?: string }) => {
      if (options.date !== undefined && !/^\d{4}-\d{2}-\d{2}$/.test(options.date)) {
        throw new Error(`--date: expected YYYY-MM-DD (got "${options.date}")`)
      }
      // --flows and --mappings override PASSERELLE_FLOWS_DIR and PASSERELLE_MAPPINGS_DIR (applied by the entry point).
      const reg = registerFromDeclarations(cliDeclarations(), cliConfig(), options.date ?? parisDay(new Date()))
      const text = renderRegister(reg, options.format)
      if (options.out) {
        writeFileSync(options.out, text)
        process.stderr.write(`register written to ${options.out} (${reg.purposes.length} purposes, ${options.format})\n`)
      } else process.stdout.write(text)
    })
}
