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
}

export function inProcessCaller(c: { env?: unknown }): InProcessCaller | undefined {
  const env = c.env as { [IN_PROCESS_CALLER]?: InProcessCaller } | undefined
  return env?.[IN_PROCESS_CALLER]
}
