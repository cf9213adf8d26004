import { applications } from './applications.ts'
import { assignments } from './assignments.ts'
import { checked } from './checked.ts'
import { registrations } from './registrations.ts'
import type { RecordTarget } from './target.ts'

/** The targets a generic format's records may become (`format.target` in flows/<id>.yaml). */
export const TARGETS = { registrations, assignments, checked, applications } satisfies Record<string, RecordTarget>

export type TargetName = keyof typeof TARGETS
