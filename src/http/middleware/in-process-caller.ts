import type { MiddlewareHandler } from 'hono'
import type { Principal } from '../../auth/principal.ts'

/**
 * The web console (src/console) calls this API in process, as its signed-in agent: `api.fetch(request, { [IN_PROCESS_CALLER]:
 * caller })`. The principal comes from the console's session, then everything else is the API's own: the same routes,
 * role checks, row and column filters, rate limit and audit trail. Only an in-process caller can set it:
 * @hono/node-server's env holds nothing but the Node request and response, and no header or URL reaches it.
 */
export const IN_PROCESS_CALLER = Symbol('passerelle.in-process-caller')

export interface InProcessCaller {
  principal: Principal
  clientAddress: string | null
  /**
   * When given, a JSON answer (`c.json(value)`) is handed over here as the value the route built, and the response
   * carries its status and headers but no body: the caller is spared serialising and parsing it again. For answers
   * made of JSON values only (strings, numbers, booleans, null, arrays and plain objects of them), such as the
   * beneficiaries' routes, where the value and its JSON text say the same.
   */
  answer?: { value?: unknown }
}

export function inProcessCaller(c: { env?: unknown }): InProcessCaller | undefined {
  const env = c.env as { [IN_PROCESS_CALLER]?: InProcessCaller } | undefined
  return env?.[IN_PROCESS_CALLER]
}

/** Installs the hand-over of JSON answers to an in-process caller that asked for it (`InProcessCaller.answer`). */
export function inProcessAnswer(): MiddlewareHandler {
  return async (c, next) => {
    const slot = inProcessCaller(c)?.answer
    if (slot) {
      c.json = ((value: unknown, arg?: never, headers?: never) => {
        slot.value = value
        c.header('Content-Type', 'application/json')
        return c.body(null, arg, headers)
      }) as unknown as typeof c.json
    }
    await next()
  }
}
