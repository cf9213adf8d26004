import { z } from 'zod'

const EnvVarName = z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'must be the NAME of an environment variable, not its value')

/**
 * An SFTP server and folder as declarations name it: a flow's source (flows/<id>.yaml) and an extract recipient's
 * destination (mappings/<id>.yaml) alike. Secrets are never in the YAML: it names the environment variables.
 */
export const SftpEndpointSchema = z.object({
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

/** An endpoint must say how to authenticate. */
export const hasCredentials = [
  (s: { private_key_env?: string | undefined; password_env?: string | undefined }) => Boolean(s.private_key_env || s.password_env),
  { message: 'give private_key_env or password_env' },
] as const

/** An endpoint as declared (before its variables are resolved: see resolve-source.ts). */
export type DeclaredSftpEndpoint = z.infer<typeof SftpEndpointSchema>
