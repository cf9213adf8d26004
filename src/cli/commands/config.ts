import type { Command } from 'commander'
import { loadConfig, redactConfig } from '../../config/config.ts'

export function register(program: Command): void {
  program
    .command('config')
    .description('print the effective configuration (secrets redacted); fails listing every invalid variable')
    .option('--json', 'print JSON')
    .action((options: { json?: boolean }) => {
      const shown = redactConfig(loadConfig())
      if (options.json) {
        process.stdout.write(JSON.stringify(shown, null, 2) + '\n')
        return
      }
      const lines = (value: unknown, prefix: string): string[] =>
        value !== null && typeof value === 'object' && !Array.isArray(value)
          ? Object.entries(value as Record<string, unknown>).flatMap(([k, v]) => lines(v, prefix ? `${prefix}.${k}` : k))
          : [`${prefix.padEnd(24)} ${String(value)}`]
      process.stdout.write(lines(shown, '').join('\n') + '\n')
    })
}
