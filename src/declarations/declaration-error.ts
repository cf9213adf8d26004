/**
 * Declarations (flows/, flows/retention/, mappings/) that cannot be used, with every problem found: one line each,
 * `file: key: what is wrong (known: ...)`. Declarations hold no personal value, so neither do the problems.
 */
export class DeclarationError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('\n'))
    this.name = 'DeclarationError'
  }
}
