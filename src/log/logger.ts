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
  const level = options.level ?? process.env.LOG_LEVEL ?? (process.env.VITEST ? 'silent' : 'info')
  return pino(
    { level, base: { service: 'passerelle' }, redact: { paths: REDACTED_KEYS, censor: '[redacted]' } },
    options.destination ?? pino.destination(2),
  )
}

/** Process-wide logger for entry points; library code receives a logger through its deps. */
export const log: Logger = createLogger()
