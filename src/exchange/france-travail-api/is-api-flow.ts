/** True when a parsed flow YAML document declares a France Travail partner-API source (not a file flow). */
export function isApiFlowDocument(raw: unknown): boolean {
  const source = (raw as { source?: { type?: unknown } } | null)?.source
  return typeof source === 'object' && source !== null && source.type === 'francetravail-api'
}
