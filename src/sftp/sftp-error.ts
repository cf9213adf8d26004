/**
 * What went wrong on the SFTP side, for the operator. `kind` tells the caller what to do:
 * - `config`: a flow's source cannot be resolved (missing variable, unreadable key file): fix the environment;
 * - `auth` / `host_key`: the server refused us, or is not the server we expect: never retried;
 * - `connection`: the connection could not be made or was lost: retried with backoff;
 * - `size_mismatch`: a download did not bring the listed number of bytes: retried after a fresh look at the file;
 * - `remote`: the server answered an operation with an error (permission, no such file...).
 * Messages name the flow, the variable or the remote path, never a secret.
 */
export type SftpErrorKind = 'config' | 'auth' | 'host_key' | 'connection' | 'size_mismatch' | 'remote'

export class SftpError extends Error {
  readonly kind: SftpErrorKind
  /** The ssh2 / ssh2-sftp-client / system error code when there is one (ECONNRESET, ENOENT...). */
  readonly code: string | undefined
  /** Set when the retries were already spent on this error (a connection that could not be made again). */
  readonly exhausted: boolean

  constructor(kind: SftpErrorKind, message: string, options: { cause?: unknown; code?: string | undefined; exhausted?: boolean } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'SftpError'
    this.kind = kind
    this.code = options.code
    this.exhausted = options.exhausted ?? false
  }

  /** Worth another attempt after a pause. */
  get retryable(): boolean {
    return !this.exhausted && (this.kind === 'connection' || this.kind === 'size_mismatch')
  }
}
