import type { Db } from '../../db/db.ts'
import type { Logger } from '../../log/logger.ts'
import { isInfrastructureError } from '../guard-reader.ts'
import { decideQuarantine } from './decide-quarantine.ts'
import { countAttempt, findQuarantineEntry, forgetAttempts, noteAttemptError, quarantineFile, uncountAttempt, type RemoteFileKey } from './queries.ts'

/**
 * The pull's side of the quarantine (decide-quarantine.ts): checked at listing, before a file is downloaded, and
 * an attempt counted around its load. Kept apart from pull-flow.ts so that the pull only asks and reports.
 */
export interface QuarantineDeps {
  db: Db
  log: Logger
}

/** Whether the listed file may be fetched; when not, says so in the log (at every pull) and returns its entry id. */
export async function checkQuarantine(deps: QuarantineDeps, key: RemoteFileKey): Promise<{ fetch: true } | { fetch: false; id: number }> {
  const decision = decideQuarantine(await findQuarantineEntry(deps.db, key))
  if (decision.action === 'fetch') return { fetch: true }
  if (decision.action === 'quarantine') {
    await quarantineFile(deps.db, decision.id)
    deps.log.error(
      { flowId: key.flowId, file: key.name, quarantineId: decision.id },
      'file quarantined: reading it did not finish twice (crash or unexpected error); not fetched until released',
    )
  } else {
    deps.log.warn({ flowId: key.flowId, file: key.name, quarantineId: decision.id }, 'file quarantined: not fetched until released (passerelle files retry)')
  }
  return { fetch: false, id: decision.id }
}

export interface ReadAttempt {
  /** The file was loaded, rejected or skipped: its attempts are forgotten. */
  ended(): Promise<void>
  /** The load threw: counted unless the cause is outside the file (database, network, abort). */
  failed(error: unknown): Promise<void>
}

/** Counts an attempt at reading the file, committed before the load starts (a process that dies leaves it counted). */
export async function beginReadAttempt(deps: QuarantineDeps, key: RemoteFileKey): Promise<ReadAttempt> {
  const id = await countAttempt(deps.db, key)
  return {
    ended: () => forgetAttempts(deps.db, id),
    async failed(error) {
      try {
        if (isInfrastructureError(error)) await uncountAttempt(deps.db, id)
        else await noteAttemptError(deps.db, id, error instanceof Error && /^[A-Za-z]{1,60}$/.test(error.name) ? error.name : 'unknown error')
      } catch (cause) {
        deps.log.warn({ flowId: key.flowId, file: key.name, quarantineId: id, err: { name: (cause as Error).name } }, 'could not record the failed attempt')
      }
    },
  }
}
