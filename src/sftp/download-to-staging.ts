import fs from 'node:fs/promises'
import path from 'node:path'
import type { Logger } from '../log/logger.ts'
import { backoffDelay, sleep } from './backoff.ts'
import type { DownloadOptions, RemoteFile, SftpSession } from './connect.ts'
import { SftpError } from './sftp-error.ts'
import { createPrivateFile } from './staging-area.ts'

export type StagedFile = {
  status: 'staged'
  name: string
  /** `<stagingDir>/<flowId>/<name>`: complete, size checked, ready to parse. */
  localPath: string
  size: number
  sha256: string
  /** The remote file's modification time (unchanged during the download). */
  modifiedAt: Date
}

/** The file changed or disappeared while we downloaded it (still being written, or taken away): skip it this run. */
export type UnstableFile = {
  status: 'unstable'
  name: string
  reason: 'changed_during_download' | 'vanished'
}

export interface DownloadToStagingContext {
  flowId: string
  /** The flow's `source.remote_dir`. */
  remoteDir: string
  /** This pull's staging folder (`claimStagingFolder`); the file lands in `<stagingDir>/<flowId>/`, mode 600. */
  stagingDir: string
  /** Further attempts after an interrupted download. */
  retries: number
  retryDelayMs: number
  log: Logger
  onProgress?: DownloadOptions['onProgress']
}

/**
 * Downloads one listed file to the staging area: fastGet to `<name>.part`, check that the local size is the listed
 * size, look at the remote file again (a changed size or time means it was still being written: skipped this run,
 * `status: 'unstable'`), then rename to `<name>`. A half-downloaded file is never handed over: on any failure the
 * `.part` is deleted. An interrupted download (connection cut, short read) is retried on a new connection with
 * exponential backoff; after the retries, throws an `SftpError` naming the flow and the file.
 */
export async function downloadToStaging(session: SftpSession, file: RemoteFile, ctx: DownloadToStagingContext): Promise<StagedFile | UnstableFile> {
  const { flowId, log } = ctx
  if (!isPlainFileName(file.name)) {
    throw new SftpError('remote', `flow "${flowId}": the server listed a file name that is not a plain name (${JSON.stringify(file.name)}): refused`)
  }
  const remotePath = path.posix.join(ctx.remoteDir, file.name)
  const dir = path.join(ctx.stagingDir, flowId)
  await fs.mkdir(dir, { recursive: true, mode: 0o700 })
  const finalPath = path.join(dir, file.name)
  const partPath = `${finalPath}.part`

  for (let attempt = 0; ; attempt++) {
    await fs.rm(partPath, { force: true })
    try {
      // Mode 600 before the first byte arrives: the download opens it again without changing the mode.
      await createPrivateFile(partPath)
      const options: DownloadOptions = ctx.onProgress ? { onProgress: ctx.onProgress } : {}
      const { size, sha256 } = await session.download(remotePath, partPath, file.size, options)
      const now = await session.stat(remotePath)
      if (!now) {
        await fs.rm(partPath, { force: true })
        log.warn({ flowId, file: file.name }, 'sftp file vanished during download, skipped')
        return { status: 'unstable', name: file.name, reason: 'vanished' }
      }
      if (!sameVersion(now, file)) {
        await fs.rm(partPath, { force: true })
        log.warn({ flowId, file: file.name, listedSize: file.size, size: now.size }, 'sftp file changed during download (still being written), skipped')
        return { status: 'unstable', name: file.name, reason: 'changed_during_download' }
      }
      await fs.rename(partPath, finalPath)
      log.debug({ flowId, file: file.name, size, attempt }, 'sftp file staged')
      return { status: 'staged', name: file.name, localPath: finalPath, size, sha256, modifiedAt: file.modifiedAt }
    } catch (error) {
      await fs.rm(partPath, { force: true })
      if (!(error instanceof SftpError)) throw wrap(error, flowId, file.name)
      if (error.retryable || error.kind === 'remote') {
        // A short download may be a file still growing, a failed one a file taken away: look before going on.
        const now = await session.stat(remotePath).catch(() => 'unknown' as const)
        if (now === undefined) {
          log.warn({ flowId, file: file.name }, 'sftp file vanished during download, skipped')
          return { status: 'unstable', name: file.name, reason: 'vanished' }
        }
        if (now !== 'unknown' && !sameVersion(now, file)) {
          log.warn({ flowId, file: file.name }, 'sftp file changed during download (still being written), skipped')
          return { status: 'unstable', name: file.name, reason: 'changed_during_download' }
        }
      }
      if (!error.retryable) throw wrap(error, flowId, file.name)
      if (attempt >= ctx.retries) {
        throw new SftpError(error.kind, `flow "${flowId}": download of "${file.name}" failed after ${attempt + 1} attempt(s): ${error.message.replace(/^flow "[^"]*": /, '')}`, {
          cause: error,
          code: error.code,
          exhausted: true,
        })
      }
      const pause = backoffDelay(attempt, ctx.retryDelayMs)
      log.warn({ flowId, file: file.name, attempt: attempt + 1, retries: ctx.retries, pauseMs: pause, kind: error.kind }, 'sftp download interrupted, retrying')
      await sleep(pause)
    }
  }
}

function sameVersion(a: RemoteFile, b: RemoteFile): boolean {
  return a.size === b.size && a.modifiedAt.getTime() === b.modifiedAt.getTime()
}

/** A listing entry must be a plain name: a hostile server could send `../x` or `a/b`. */
function isPlainFileName(name: string): boolean {
  return name.length > 0 && name !== '.' && name !== '..' && !/[/\\\0]/.test(name)
}

/** SFTP errors already name the flow and the path; a local failure (disk full...) is said to be one. */
function wrap(error: unknown, flowId: string, name: string): Error {
  if (error instanceof SftpError) {
    if (error.message.includes(`"${name}"`)) return error
    const detail = error.message.replace(/^flow "[^"]*": /, '')
    return new SftpError(error.kind, `flow "${flowId}": download of "${name}" failed: ${detail}`, { cause: error, code: error.code, exhausted: error.exhausted })
  }
  return new Error(`flow "${flowId}": staging "${name}" failed: ${(error as Error)?.message ?? String(error)}`, { cause: error })
}
