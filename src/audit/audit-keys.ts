import type { AuditKeys } from '../crypto/keys.ts'

/**
 * The audit log's HMAC keys for this process. Every writer of the log (API requests, retention runs, rights
 * steps, CLI commands) appends through `appendAuditEvents`, and `audit verify` reads back through
 * `verifyAuditChain`: rather than threading the keys through each of them, the entry point that loaded the keys
 * (openContext, the test and bench helpers) installs them here once. Appending without them throws: an event is
 * never written with a weaker hash.
 */
let installed: Pick<AuditKeys, 'chain' | 'text'> | undefined

export function useAuditKeys(keys: Pick<AuditKeys, 'chain' | 'text'>): void {
  installed = { chain: keys.chain, text: keys.text }
}

export function auditKeys(): Pick<AuditKeys, 'chain' | 'text'> {
  if (!installed) throw new Error('the audit keys are not installed: call useAuditKeys(keys.audit) after loading the keys')
  return installed
}
