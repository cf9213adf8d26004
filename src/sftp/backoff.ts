import { setTimeout as delay } from 'node:timers/promises'

const MAX_DELAY_MS = 60_000

/**
 * The pause before retry number `attempt` (0 for the first retry): exponential from `baseMs`, capped at a minute,
 * with "equal jitter" (between half and all of the exponential step) so that several instances do not retry in step.
 */
export function backoffDelay(attempt: number, baseMs: number, random: () => number = Math.random): number {
  const step = Math.min(MAX_DELAY_MS, baseMs * 2 ** Math.max(0, attempt))
  return Math.round(step / 2 + random() * (step / 2))
}

export async function sleep(ms: number): Promise<void> {
  if (ms > 0) await delay(ms)
}
