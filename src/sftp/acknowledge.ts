import path from 'node:path'
import type { SftpSource } from '../flows/flow.ts'
import type { Logger } from '../log/logger.ts'
import type { SftpSession } from './connect.ts'

/** What became of a file, once its database transaction has committed. */
export type FileOutcome =
  | {
      status: 'loaded'
      fileId: string | number
      sha256: string
      size: number
      recordsAccepted: number
      recordsRejected: number
      loadedAt: Date
    }
  | {
      status: 'rejected'
      fileId?: string | number | undefined
      sha256: string
      size: number
      /** From a `FileRejection`: the rule's code and a message naming the file, record and rule, never a value. */
      reason: { code: string; message: string }
      rejectedAt: Date
    }

export interface AcknowledgeContext {
  flowId: string
  source: SftpSource
  log: Logger
}

export interface AcknowledgeResult {
  /** Remote path of the `.ack` / `.nack` written, if the flow asks for one. */
  answer: string | undefined
  /** Where the file went (`done/`, `rejected/`), `undefined` when deleted or already gone. */
  movedTo: string | undefined
  /** True when the file was no longer in the drop folder: an earlier run had already moved or deleted it. */
  alreadyGone: boolean
}

const MAX_MESSAGE_LENGTH = 2000

/**
 * The text of `<name>.ack` or `<name>.nack`: JSON with technical facts only (ids, sizes, counts, codes, dates).
 * The rejection message is relayed as given (it names the record and the rule, never a value).
 */
export function acknowledgementText(flowId: string, name: string, outcome: FileOutcome): string {
  const common = { flow: flowId, file: name, status: outcome.status }
  const body =
    outcome.status === 'loaded'
      ? {
          ...common,
          file_id: String(outcome.fileId),
          sha256: outcome.sha256,
          size: outcome.size,
          records: { accepted: outcome.recordsAccepted, rejected: outcome.recordsRejected },
          loaded_at: outcome.loadedAt.toISOString(),
        }
      : {
          ...common,
          file_id: outcome.fileId === undefined ? null : String(outcome.fileId),
          sha256: outcome.sha256,
          size: outcome.size,
          reason: { code: outcome.reason.code, message: outcome.reason.message.slice(0, MAX_MESSAGE_LENGTH) },
          rejected_at: outcome.rejectedAt.toISOString(),
        }
  return `${JSON.stringify(body, null, 2)}\n`
}

/**
 * Tells the producer and tidies the drop folder, as the flow declares, after the file's transaction committed:
 * writes `<name>.ack` (loaded) or `<name>.nack` (rejected) beside the file, removes a stale answer of the other kind,
 * then moves the file (and its ready marker) to `after_load.dir` / `after_reject.dir` — created if needed — or
 * deletes it (`after_load.action: delete`).
 *
 * The answer is written before the file leaves the drop folder, so that a crash in between is repaired by the next
 * run (which finds the file again, knows it from its fingerprint, and calls this again). Every step tolerates being
 * done twice: the file already moved or deleted is fine; a name already taken in `done/` (an earlier delivery under
 * the same name) gets the first 12 hex digits of the sha256 inserted before its extension.
 */
export async function acknowledge(session: SftpSession, ctx: AcknowledgeContext, name: string, outcome: FileOutcome): Promise<AcknowledgeResult> {
  const { source, flowId, log } = ctx
  const remoteDir = source.remote_dir
  const filePath = path.posix.join(remoteDir, name)
  const loaded = outcome.status === 'loaded'

  let answer: string | undefined
  const wantAnswer = loaded ? source.after_load.ack : source.after_reject.nack
  if (wantAnswer) {
    answer = `${filePath}${loaded ? '.ack' : '.nack'}`
    await session.writeText(answer, acknowledgementText(flowId, name, outcome))
  }
  await session.remove(`${filePath}${loaded ? '.nack' : '.ack'}`)

  const followers = source.ready_marker_suffix ? [`${name}${source.ready_marker_suffix}`] : []
  let movedTo: string | undefined
  let alreadyGone: boolean
  if (loaded && source.after_load.action === 'delete') {
    alreadyGone = !(await session.exists(filePath))
    if (!alreadyGone) await session.remove(filePath)
    for (const follower of followers) await session.remove(path.posix.join(remoteDir, follower))
  } else {
    const dir = loaded ? source.after_load.dir : source.after_reject.dir
    const targetDir = dir.startsWith('/') ? path.posix.normalize(dir) : path.posix.join(remoteDir, dir)
    const moved = await moveInto(session, filePath, targetDir, name, outcome.sha256)
    movedTo = moved
    alreadyGone = moved === undefined
    for (const follower of followers) await moveInto(session, path.posix.join(remoteDir, follower), targetDir, follower, outcome.sha256)
  }
  log.info({ flowId, file: name, status: outcome.status, answer: answer !== undefined, movedTo, alreadyGone }, 'sftp file acknowledged')
  return { answer, movedTo, alreadyGone }
}

/** Moves a file into a directory under a free name; `undefined` when the file is no longer there. */
async function moveInto(session: SftpSession, from: string, targetDir: string, name: string, sha256: string): Promise<string | undefined> {
  if (!(await session.exists(from))) return undefined
  await session.mkdirp(targetDir)
  const extension = path.posix.extname(name)
  const base = name.slice(0, name.length - extension.length)
  const candidates = [name, `${base}.${sha256.slice(0, 12)}${extension}`, `${base}.${sha256.slice(0, 12)}.${Date.now()}${extension}`]
  for (const candidate of candidates) {
    const target = path.posix.join(targetDir, candidate)
    if (await session.exists(target)) continue
    try {
      await session.rename(from, target)
      return target
    } catch (error) {
      // A rename that succeeded on the server but whose answer was lost, or another instance: the file is gone.
      if (!(await session.exists(from))) return (await session.exists(target)) ? target : undefined
      if (!(await session.exists(target))) throw error
    }
  }
  throw new Error(`cannot move ${from} into ${targetDir}: every name tried is taken`)
}

/** `.<name>.ack.<8 hex>.tmp`: the hidden name `SftpSession.writeText` writes an answer under before renaming it. */
const TEMPORARY_ANSWER = /^\.(.+)\.(?:ack|nack)\.[0-9a-f]{8}\.tmp$/

/**
 * Removes the temporary answers a crash left in the drop folder (an empty `.<name>.ack.<hex>.tmp` when the process
 * died while writing it). One is removed only when its file is no longer in the drop folder: an answer is written
 * while its file is still there (before the move), so a temporary answer whose file has gone is in nobody's hands,
 * whereas one beside its file may be another instance's write in progress (it goes once that file is moved).
 */
export async function removeStaleAnswers(session: SftpSession, ctx: { flowId: string; remoteDir: string; log: Logger }): Promise<number> {
  const listing = await session.list(ctx.remoteDir)
  let removed = 0
  for (const entry of listing) {
    const match = TEMPORARY_ANSWER.exec(entry.name)
    if (!match) continue
    if (await session.exists(path.posix.join(ctx.remoteDir, match[1]!))) continue
    await session.remove(path.posix.join(ctx.remoteDir, entry.name))
    removed++
  }
  if (removed > 0) ctx.log.info({ flowId: ctx.flowId, removed }, 'sftp temporary answers left by a crash removed')
  return removed
}
