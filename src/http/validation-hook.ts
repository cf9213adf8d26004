import { audit } from './api-context.ts'
import { errorBody } from './api-error.ts'

function validationMessage(error: { issues: readonly { path: readonly PropertyKey[]; message: string }[] }, target: string): string {
  const text = error.issues
    .slice(0, 5)
    .map((i) => `${[target, ...i.path.map(String)].join('.')}: ${i.message}`)
    .join('; ')
  return text.length > 500 ? `${text.slice(0, 497)}...` : text
}

/** A 400 naming which parameter broke which rule, never the value (unknown keys are named by zod). */
export const validationHook = (result: { success: boolean; error?: unknown; target?: string }, c: any) => {
  if (result.success) return
  const error = result.error as { issues: { path: PropertyKey[]; message: string; code?: string }[] }
  audit(c, { details: { reason: 'invalid_parameters' } })
  return c.json(errorBody('invalid_parameters', validationMessage(error, result.target ?? 'request')), 400)
}
