import { pino, type Logger } from 'pino'

/**
 * JSON logs with short lowercase events: `log.info({ flowId, fileId, accepted }, 'file loaded')`.
 * Never pass a personal value (name, NIR, address, birth date) to a logger: the redaction below is a
 * safety net for well-known keys, not a licence.
 */
export type { Logger }

const REDACTED_KEYS = [
  'nir', 'nom', 'prenom', 'dtnai', 'dateNaissance', 'adresse', 'token', 'password', 'secret', 'key',
  '*.nir', '*.nom', '*.prenom', '*.dtnai', '*.dateNaissance', '*.adresse', '*.token', '*.password', '*.secret',
  'req.headers.authorization',
]

export function createLogger(options: { level?: string; destination?: NodeJS.WritableStream } = {}): Logger {
  // LOG_LEVEL is a setting like the others: validated by the configuration, then applied by the entry point
  // (`log.level = config.logLevel`). The process-wide logger below exists before the configuration is parsed, so it
  // starts at `info`; under vitest (the only variable read here, by the test runner's convention) it starts silent.
  const level = options.level ?? (process.env.VITEST ? 'silent' : 'info')
  return pino(
    { level, base: { service: 'passerelle' }, redact: { paths: REDACTED_KEYS, censor: '[redacted]' } },
    options.destination ?? pino.destination(2),
  )
}

/** Process-wide logger for entry points; library code receives a logger through its deps. */
export const log: Logger = createLogger()
