/**
 * The candidates closest to a mistyped name, best first: for "did you mean" hints in declaration errors.
 * Compares case-insensitively, on the whole name and on its last dotted segment (`codeinse` finds
 * `adresse.codeInsee` and `franceTravail.codeInsee`).
 */
export function closeMatches(word: string, candidates: Iterable<string>, max = 5): string[] {
  const w = word.toLowerCase()
  const wLast = lastSegment(w)
  const scored: { candidate: string; score: number }[] = []
  for (const candidate of candidates) {
    const c = candidate.toLowerCase()
    const score = Math.min(distance(w, c), distance(wLast, lastSegment(c)) + (w.includes('.') && wLast !== w ? 1 : 0))
    const tolerance = Math.max(2, Math.floor(Math.min(w.length, c.length) / 3))
    if (score <= tolerance || c.includes(w) || (w.length >= 3 && lastSegment(c).startsWith(wLast))) {
      scored.push({ candidate, score })
    }
  }
  return scored
    .sort((a, b) => a.score - b.score || a.candidate.localeCompare(b.candidate))
    .slice(0, max)
    .map((s) => s.candidate)
}

function lastSegment(name: string): string {
  const dot = name.lastIndexOf('.')
  return dot === -1 ? name : name.slice(dot + 1)
}

/** Levenshtein distance (insertions, deletions, substitutions). */
function distance(a: string, b: string): number {
  if (a === b) return 0
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const current = [i]
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1)
      current.push(Math.min(previous[j]! + 1, current[j - 1]! + 1, substitution))
    }
    previous = current
  }
  return previous[b.length]!
}
