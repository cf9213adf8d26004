/**
 * A one-line progress indicator on a terminal (stderr), silent otherwise (pipes, CI, --json).
 */
export function createProgress(label: string, stream: NodeJS.WriteStream = process.stderr): { update(records: number): void; done(): void } {
  if (!stream.isTTY) return { update() {}, done() {} }
  const started = performance.now()
  let last = 0
  return {
    update(records) {
      const now = performance.now()
      if (now - last < 100) return
      last = now
      const rate = records / Math.max((now - started) / 1000, 0.001)
      stream.write(`\r\x1b[2K${label}  ${records.toLocaleString('en')} records  ${Math.round(rate).toLocaleString('en')}/s`)
    },
    done() {
      stream.write('\r\x1b[2K')
    },
  }
}
