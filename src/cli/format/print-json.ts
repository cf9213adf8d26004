import { parisIso } from './paris-time.ts'

/**
 * The JSON a command prints with `--json`: one document on stdout, dates as ISO 8601 with the Europe/Paris offset.
 * Shapes are stable (documented in README.md); exit codes are those of the text output.
 */
export function toJson(value: unknown, indent = 2): string {
  return JSON.stringify(value, replaceDates, indent)
}

export function printJson(value: unknown): void {
  process.stdout.write(`${toJson(value)}\n`)
}

/** One JSON object per line (commands whose `--json` streams rows: `tokens list`, `audit search`). */
export function printJsonLine(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, replaceDates)}\n`)
}

function replaceDates(this: Record<string, unknown>, key: string, value: unknown): unknown {
  // JSON.stringify calls Date#toJSON before the replacer: read the original from the holder.
  const original = this[key]
  return original instanceof Date && !Number.isNaN(original.getTime()) ? parisIso(original) : value
}
