import { z } from 'zod'

/**
 * How to reach an SFTP account, declared once for every place that names one: a flow's source (flows/*.yaml) and a
 * statistics recipient's destination (mappings/*.yaml). Secrets are never in a declaration, only the names of the
 * environment variables that hold them.
 */
export const EnvVarName = z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'must be the NAME of an environment variable, not its value')

export const SftpConnectionSchema = z.object({
  /** Host and port may name environment variables (`${VAR}`) or be literal. */
  host: z.string().min(1),
  port: z.union([z.number().int().min(1).max(65535), z.string().min(1)]).default(22),
  user: z.string().min(1),
  /** Names of the environment variables holding the private key (PEM text or a file path) or password. */
  private_key_env: EnvVarName.optional(),
  passphrase_env: EnvVarName.optional(),
  password_env: EnvVarName.optional(),
  /** The server's host key fingerprint (SHA256:...), from an env variable; unchecked when absent (logged). */
  host_key_env: EnvVarName.optional(),
  remote_dir: z.string().min(1),
})

export type SftpConnection = z.infer<typeof SftpConnectionSchema>

/** The refinement every declared connection carries: some credential is named. */
export const hasCredential = [
  (s: Pick<SftpConnection, 'private_key_env' | 'password_env'>) => Boolean(s.private_key_env || s.password_env),
  { message: 'give private_key_env or password_env' },
] as const
