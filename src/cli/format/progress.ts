import cliProgress from 'cli-progress'
import type { IngestProgress } from '../../ingestion/byte-meter.ts'
import { claimLine, releaseLine, type LineOwner } from '../../log/log-output.ts'

export interface Progress {
  update(progress: IngestProgress): void
  done(): void
}

const SILENT: Progress = { update() {}, done() {} }

/**
 * A progress bar on a terminal (stderr): percentage of the file's bytes read, MB/s, records/s and ETA. Nothing on a
 * pipe, a file or in CI (stderr not a TTY), nor with --json. While the bar is drawn, log lines go above it (see
 * log-output.ts): the bar is cleared, the line written, the bar drawn again.
 */
export function createProgress(label: string, stream: NodeJS.WriteStream = process.stderr): Progress {
  if (!stream.isTTY) return SILENT
  const bar = new cliProgress.SingleBar(
    {
      stream,
      format: `${label} [{bar}] {percentage}% | {mbps} MB/s | {rps} records/s | {records} records | ETA {eta_formatted}`,
      barsize: 24,
      hideCursor: false,
      clearOnComplete: true,
      etaBuffer: 20,
      fps: 10,
    },
    cliProgress.Presets.shades_classic,
  )
  const started = performance.now()
  let running = false
  let last = { size: -1, bytes: 0 }
  const owner: LineOwner = {
    clear: () => void stream.write('\r\x1b[2K'),
    redraw: () => {
      // The bar saved the cursor where it started (and goes back there when it stops): save the new line instead,
      // or stopping would climb back over the log lines written above.
      stream.write('\x1b7')
      ;(bar as unknown as { render(force: boolean): void }).render(true)
    },
  }
  const payload = (p: IngestProgress) => {
    const seconds = Math.max((performance.now() - started) / 1000, 0.001)
    return {
      mbps: (p.bytes / 1e6 / seconds).toFixed(1),
      rps: Math.round(p.records / seconds).toLocaleString('en'),
      records: p.records.toLocaleString('en'),
    }
  }
  return {
    update(p) {
      // A pull loads several files one after the other: a new file starts a new bar.
      if (running && (p.size !== last.size || p.bytes < last.bytes)) {
        releaseLine(owner)
        bar.stop()
        running = false
      }
      last = { size: p.size, bytes: p.bytes }
      if (!running) {
        running = true
        bar.start(Math.max(p.size, 1), 0, payload(p))
        claimLine(owner)
      }
      bar.update(Math.min(p.bytes, p.size), payload(p))
    },
    done() {
      if (!running) return
      running = false
      releaseLine(owner)
      bar.stop()
    },
  }
}
