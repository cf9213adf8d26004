/**
 * Free text an operator types into something the audit log records (a reason, a reference) must not identify a
 * person: it is refused when it holds something shaped like a NIR. The text is never quoted back, only the field.
 */
export class AuditTextError extends Error {
  constructor(readonly field: string, message: string) {
    super(message)
  }
}

/** Separators an identifier is often written with: spaces (also non-breaking) and dots, collapsed between characters. */
const SEPARATORS = /(?<=[0-9A-Za-z])[ .\u00a0\u202f]+(?=[0-9A-Za-z])/g
/**
 * A NIR's shape: 13 characters (sex, year, month, département, commune, order) or 15 with the key, all digits
 * but the département, which may be 2A or 2B (Corsica). Not part of a longer run of digits.
 */
const NIR_SHAPE = /(?<![0-9])[0-9]{5}(?:[0-9]{2}|2[AaBb])[0-9]{6}(?:[0-9]{2})?(?![0-9])/

export function hasNirShape(text: string): boolean {
  return NIR_SHAPE.test(text.replace(SEPARATORS, ''))
}

/** Throws an AuditTextError naming `field` (never echoing the text) when the text holds a NIR-shaped number. */
export function checkAuditText(field: string, text: string): void {
  if (hasNirShape(text)) {
    throw new AuditTextError(
      field,
      `${field}: contains a number shaped like a NIR (13 or 15 digits, with or without spaces or dots, 2A/2B for Corsica); ` +
        'this text is kept in the audit trail: describe the request without identifying the person',
    )
  }
}
