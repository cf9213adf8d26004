import { createHash } from 'node:crypto'

/**
 * Host key fingerprints in OpenSSH's notation, `SHA256:<base64 without padding>`, as printed by
 * `ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub` or `ssh-keyscan host | ssh-keygen -lf -`.
 */
export function fingerprintOfKeyBlob(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`
}

/** The fingerprint of an OpenSSH public key line (`ssh-ed25519 AAAA... comment`). */
export function fingerprintOfPublicKeyLine(line: string): string {
  const blob = line.trim().split(/\s+/)[1]
  if (!blob) throw new Error('not an OpenSSH public key line (expected "<type> <base64> [comment]")')
  return fingerprintOfKeyBlob(Buffer.from(blob, 'base64'))
}

/**
 * The accepted fingerprints in a configured value: one or several (key rotation), separated by commas or spaces.
 * Returns the problem instead when a value is not a SHA256 fingerprint (MD5 `aa:bb:...` notations are refused).
 */
export function parseFingerprints(value: string): { fingerprints: string[] } | { problem: string } {
  const parts = value.split(/[\s,]+/).filter((part) => part.length > 0)
  if (parts.length === 0) return { problem: 'is empty' }
  const fingerprints: string[] = []
  for (const part of parts) {
    const match = /^SHA256:([A-Za-z0-9+/]{43})=?$/.exec(part)
    if (!match) return { problem: 'must be one or more SHA256:... fingerprints (ssh-keygen -lf <host key>.pub)' }
    fingerprints.push(`SHA256:${match[1]}`)
  }
  return { fingerprints }
}
