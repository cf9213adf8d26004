import { existsSync } from 'node:fs'
import path from 'node:path'
import { z } from 'zod'
import { readYamlFile } from '../declarations/read-yaml-dir.ts'

/**
 * The controller (responsable du traitement) of this deployment, declared once in `mappings/controller.yaml`:
 * the département that runs Passerelle and its data protection officer. It is a declaration, like the purposes it
 * applies to (not a runtime setting): the register, the access answers and the rectification notices all name it
 * from here. A purpose may still declare its own `controller` (a joint controllership), which then wins.
 */
export const CONTROLLER_FILE = 'controller.yaml'

export const ControllerSchema = z.strictObject({
  /** The legal person: `Département de la Drôme`. */
  name: z.string().min(1),
  /** Who acts for it: `le président du conseil départemental`. */
  represented_by: z.string().min(1).optional(),
  /** Postal address of the controller. */
  address: z.string().min(1),
  dpo: z.strictObject({
    /** How the DPO is named to the public (`Délégué(e) à la protection des données`). */
    title: z.string().min(1).default('Délégué(e) à la protection des données'),
    email: z.email(),
    /** Postal address for data-subject requests, when it differs from the controller's. */
    address: z.string().min(1).optional(),
  }),
})
export type ControllerDeclaration = z.infer<typeof ControllerSchema>

/** The controller as every document names it. */
export interface PurposeController {
  name: string
  contact: string
}

export function controllerOf(declaration: ControllerDeclaration): PurposeController {
  const name = declaration.represented_by ? `${declaration.name} — ${declaration.represented_by}` : declaration.name
  const dpo = declaration.dpo
  return { name: `${name}, ${declaration.address}`, contact: `${dpo.title} : ${dpo.email}${dpo.address ? `, ${dpo.address}` : ''}` }
}

/**
 * Reads `<mappingsDir>/controller.yaml`: the controller, or the problems (file, key, what is expected). A missing
 * file is not a problem here: purposes that declare no controller of their own report it.
 */
export function readController(dir: string): { controller: PurposeController | undefined; problems: string[] } {
  const file = path.join(dir, CONTROLLER_FILE)
  const where = path.join(path.basename(dir), CONTROLLER_FILE)
  if (!existsSync(file)) return { controller: undefined, problems: [] }
  const { raw, problem } = readYamlFile(file, where)
  if (problem) return { controller: undefined, problems: [problem] }
  const parsed = ControllerSchema.safeParse(raw)
  if (!parsed.success) {
    return {
      controller: undefined,
      problems: parsed.error.issues.map((issue) => `${where}: ${issue.path.join('.') || '(root)'}: ${issue.message} (expected: name, address, dpo: { email })`),
    }
  }
  return { controller: controllerOf(parsed.data), problems: [] }
}

/** Reserved example domains (RFC 2606/6761): a controller still naming one has not been filled in for this deployment. */
export function namesExampleDomain(controller: PurposeController): boolean {
  return /@(?:[a-z0-9-]+\.)*(?:(?:[a-z0-9-]+\.)?(?:example|test|invalid|localhost)|example\.(?:org|com|net))(?![a-z0-9.-])/i.test(`${controller.name} ${controller.contact}`)
}
