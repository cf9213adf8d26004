import { pino, type Logger } from 'pino'
import { DatabaseError, isDriverError } from '../db/database-error.ts'
import { logOutput } from './log-output.ts'

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

/** Properties of an error that may be logged: names, codes and identifiers. Anything else is left out. */
const ERROR_FIELDS = ['code', 'queryName', 'constraint', 'table', 'column', 'dataType', 'kind', 'status', 'errno', 'syscall'] as const

/**
 * The serializer of every logged error (`log.error({ err }, ...)`, also under `error` and `cause`): type, message,
 * stack, the allow-listed fields above and the cause, at most 5 deep. A driver error that escaped the database layer
 * (pg, PGlite: `query`, `params`, `detail`, `where`, `internalQuery`...) is reduced as the database layer does
 * (DatabaseError), so neither parameters nor quoted values reach a log line.
 */
export function serializeError(value: unknown, depth = 0): unknown {
  if (value === null || typeof value !== 'object') return value
  const error = (isDriverError(value) ? new DatabaseError('unnamed', value) : value) as Record<string, unknown>
  const out: Record<string, unknown> = {
    type: error instanceof Error ? error.name : (error.constructor?.name ?? 'Object'),
    message: typeof error.message === 'string' ? error.message : undefined,
  }
  if (typeof error.stack === 'string') out.stack = error.stack
  for (const field of ERROR_FIELDS) {
    const v = error[field]
    if (typeof v === 'string' || typeof v === 'number') out[field] = v
  }
  if (error.cause !== undefined && depth < 5) out.cause = serializeError(error.cause, depth + 1)
  return out
}

export function createLogger(options: { level?: string; destination?: NodeJS.WritableStream } = {}): Logger {
  // LOG_LEVEL is a setting like the others: validated by the configuration, then applied by the entry point
  // (`log.level = config.logLevel`). The process-wide logger below exists before the configuration is parsed, so it
  // starts at `info`; under vitest (the only variable read here, by the test runner's convention) it starts silent.
  const level = options.level ?? (process.env.VITEST ? 'silent' : 'info')
  return pino(
    {
      level,
      base: { service: 'passerelle' },
      redact: { paths: REDACTED_KEYS, censor: '[redacted]' },
      serializers: { err: serializeError, error: serializeError, cause: serializeError },
    },
    options.destination ?? logOutput,
  )
}

/** Process-wide logger for entry points; library code receives a logger through its deps. */
export const log: Logger = createLogger()
