import { InvalidArgumentError } from 'commander'

/**
 * Commander argument parsers: a bad value stops the command before anything is opened, commander naming the
 * option and the value (`option '--limit <n>' argument 'abc' is invalid. expected a whole number from 1 to 1000`).
 */
export function wholeNumber(min: number, max = Number.MAX_SAFE_INTEGER): (value: string) => number {
  return (value) => {
    const n = /^\d+$/.test(value) ? Number(value) : Number.NaN
    if (!(n >= min && n <= max)) throw new InvalidArgumentError(max === Number.MAX_SAFE_INTEGER ? `expected a whole number from ${min}` : `expected a whole number from ${min} to ${max}`)
    return n
  }
}
