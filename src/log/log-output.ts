import { prettyFactory } from 'pino-pretty'

/**
 * Where the process-wide logger writes: stderr, as JSON lines (pipes, files, CI, log collectors) or, on a terminal,
 * as pretty single lines (LOG_FORMAT=auto|json|pretty). Written synchronously in-process, no worker transport.
 * While a progress bar is drawn on the same terminal, a log line first clears the bar's line, then the bar is drawn
 * again below it: lines never interleave with the bar.
 */
export type LogFormat = 'json' | 'pretty'

export interface LineOwner {
  /** Erases what it drew on the current line. */
  clear(): void
  /** Draws itself again. */
  redraw(): void
}

interface Sink {
  write(text: string): void
}

let format: LogFormat = 'json'
let pretty: ((line: string) => string) | undefined
let owner: LineOwner | undefined
let sink: Sink = { write: (text) => void process.stderr.write(text) }

export function setLogFormat(next: LogFormat, options: { colorize?: boolean; formatTime?: (epochMs: number) => string } = {}): void {
  format = next
  pretty =
    next === 'pretty'
      ? prettyFactory({
          colorize: options.colorize ?? false,
          singleLine: true,
          translateTime: false,
          ignore: 'pid,hostname,service',
          ...(options.formatTime ? { customPrettifiers: { time: (t: string | object) => options.formatTime!(Number(t)) } } : {}),
        })
      : undefined
}

export function logFormat(): LogFormat {
  return format
}

/** The terminal line is owned by a progress bar from now until `releaseLine`. */
export function claimLine(by: LineOwner): void {
  owner = by
}

export function releaseLine(by: LineOwner): void {
  if (owner === by) owner = undefined
}

/** For tests: collect what the logger writes. */
export function setLogSink(next: Sink): void {
  sink = next
}

/** The pino destination (an object with `write`, called synchronously with one serialized line). */
export const logOutput = {
  write(line: string): void {
    const text = pretty ? pretty(line) : line
    if (owner) {
      owner.clear()
      sink.write(text)
      owner.redraw()
    } else sink.write(text)
  },
}
