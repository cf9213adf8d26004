/**
 * What a command prints with `--json`: one JSON document on stdout (shapes documented in README.md), dates as ISO
 * 8601 in UTC (`...Z`: an explicit offset a program reads without a time-zone table); text output shows Europe/Paris.
 * Exit codes are those of the text output.
 */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`)
}
