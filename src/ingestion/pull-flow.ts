import { rm } from 'node:fs/promises'
import type { Config } from '../config/config.ts'
import type { Flow } from '../flows/flow.ts'
import { acknowledge } from '../sftp/acknowledge.ts'
import { openSftpSession, type SftpSession } from '../sftp/connect.ts'
import { downloadToStaging } from '../sftp/download-to-staging.ts'
import { selectFiles } from '../sftp/select-files.ts'
import { ingestFile, type FileOutcome, type IngestDeps, type IngestOptions } from './ingest-file.ts'
import { beginReadAttempt, checkQuarantine } from './quarantine/quarantine-gate.ts'

export interface PullDeps extends IngestDeps {
  config: Pick<Config, 'stagingDir' | 'sftp'>
  env: NodeJS.ProcessEnv
}

/**
 * One pull of a flow: list the drop folder, take the files that are complete (old enough, or with their ready
 * marker), oldest first; for each, download to staging (size checked), load it in one transaction, and only
 * after the commit acknowledge it on the server (move to done/ + .ack, or rejected/ + .nack). The staging copy
 * is deleted once the file is loaded or rejected. A file already loaded (a crash between commit and ack) is only
 * acknowledged again. A download that fails after its retries is reported and retried at the next run.
 */
export async function pullFlow(deps: PullDeps, flow: Flow, options: IngestOptions = {}): Promise<FileOutcome[]> {
  if (!flow.source) throw new Error(`flow "${flow.id}" declares no SFTP source`)
  const source = flow.source
  const now = options.now ?? (() => new Date())
  const session: SftpSession = await openSftpSession(source, {
    flowId: flow.id,
    env: deps.env,
    retries: deps.config.sftp.retries,
    retryDelayMs: deps.config.sftp.retryDelayMs,
    log: deps.log,
  })
  const outcomes: FileOutcome[] = []
  try {
    const listing = await session.list(source.remote_dir)
    const selection = selectFiles(listing, source, now())
    for (const w of selection.waiting) deps.log.info({ flowId: flow.id, file: w.file.name, reason: w.reason }, 'file not ready yet')
    for (const remote of selection.ready) {
      if (options.signal?.aborted) break
      const key = { flowId: flow.id, name: remote.name, size: remote.size, modifiedAt: remote.modifiedAt }
      const gate = await checkQuarantine(deps, key)
      if (!gate.fetch) {
        outcomes.push({
          name: remote.name, flow: flow.id, status: 'skipped', fileId: undefined, kind: undefined, accepted: 0, rejected: 0,
          code: 'quarantined', reason: `quarantined (entry ${gate.id}): not fetched until released with passerelle files retry ${gate.id}`,
          sha256: '', size: remote.size, durationMs: 0,
        })
        continue
      }
      let staged
      try {
        staged = await downloadToStaging(session, remote, {
          flowId: flow.id,
          remoteDir: source.remote_dir,
          stagingDir: deps.config.stagingDir,
          retries: deps.config.sftp.retries,
          retryDelayMs: deps.config.sftp.retryDelayMs,
          log: deps.log,
        })
      } catch (error) {
        deps.log.error({ flowId: flow.id, file: remote.name, err: { message: (error as Error).message } }, 'download failed')
        outcomes.push({
          name: remote.name, flow: flow.id, status: 'skipped', fileId: undefined, kind: undefined, accepted: 0, rejected: 0,
          code: 'download_failed', reason: `download failed, retried next run: ${(error as Error).message}`,
          sha256: '', size: remote.size, durationMs: 0,
        })
        continue
      }
      if (staged.status === 'unstable') {
        deps.log.info({ flowId: flow.id, file: remote.name, reason: staged.reason }, 'file changed during download: next run')
        continue
      }
      let outcome: FileOutcome
      const attempt = await beginReadAttempt(deps, key)
      try {
        outcome = await ingestFile(
          deps,
          flow,
          { path: staged.localPath, name: remote.name, source: 'sftp', modifiedAt: remote.modifiedAt, size: staged.size, sha256: staged.sha256 },
          options,
        )
      } catch (error) {
        await attempt.failed(error)
        throw error
      } finally {
        // Loaded, rejected or rolled back: the staging copy is never kept (a rollback downloads it again next run).
        await rm(staged.localPath, { force: true })
      }
      await attempt.ended()
      outcomes.push(outcome)
      if (outcome.code === 'already_loaded' || outcome.code === 'already_rejected' || outcome.status !== 'skipped') {
        const loaded = outcome.status === 'loaded' || outcome.code === 'already_loaded'
        await acknowledge(
          session,
          { flowId: flow.id, source, log: deps.log },
          remote.name,
          loaded
            ? {
                status: 'loaded', fileId: outcome.fileId!, sha256: outcome.sha256, size: outcome.size,
                recordsAccepted: outcome.accepted, recordsRejected: outcome.rejected, loadedAt: now(),
              }
            : {
                status: 'rejected', fileId: outcome.fileId, sha256: outcome.sha256, size: outcome.size,
                reason: { code: outcome.code ?? 'rejected', message: outcome.reason ?? 'rejected' }, rejectedAt: now(),
              },
        )
      }
    }
  } finally {
    await session.close()
  }
  return outcomes
}
