const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }

const SPECIAL = /[&<>"']/
const SPECIALS = /[&<>"']/g

/**
 * Text (or any value, `null` and `undefined` as empty) safe inside HTML element content and quoted attributes. Most
 * values (names, codes, dates) have nothing to escape: they come back as they are, without a replace.
 */
export function escapeHtml(value: unknown): string {
  const text = String(value ?? '')
  return SPECIAL.test(text) ? text.replace(SPECIALS, (c) => ENTITIES[c]!) : text
}
