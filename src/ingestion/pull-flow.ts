import { rm } from 'node:fs/promises'
import type { Config } from '../config/config.ts'
import type { Flow } from '../flows/flow.ts'
import { acknowledge, removeStaleAnswers, type FileOutcome as AnswerOutcome } from '../sftp/acknowledge.ts'
import { openSftpSession, type SftpSession } from '../sftp/connect.ts'
import { downloadToStaging } from '../sftp/download-to-staging.ts'
import { selectFiles } from '../sftp/select-files.ts'
import { claimStagingFolder, sweepStaging } from '../sftp/staging-area.ts'
import { resolveDecryption } from './decrypt/decryption-stage.ts'
import { formatOf } from './formats/registry.ts'
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
 * (mode 600, in this pull's own folder: src/sftp/staging-area.ts) is deleted once the file is loaded or rejected. A file already loaded (a crash between commit and ack) is only
 * acknowledged again. A download that fails after its retries is reported and retried at the next run.
 */
export async function pullFlow(deps: PullDeps, flow: Flow, options: IngestOptions = {}): Promise<FileOutcome[]> {
  if (!flow.source) throw new Error(`flow "${flow.id}" declares no SFTP source`)
  const source = flow.source
  // Encrypted files: their key is checked before the server is opened, so a missing key fails the pull (a
  // ConfigError) instead of counting a read attempt against every file it would have downloaded.
  if (flow.decrypt) resolveDecryption(flow.decrypt, flow.id, deps.env)
  // So are the settings the format checks the files against (the département's code of a fichier-PE-CG).
  formatOf(flow.format).checkSettings?.(flow.format, flow.id, deps.env)
  const now = options.now ?? (() => new Date())
  const session: SftpSession = await openSftpSession(source, {
    flowId: flow.id,
    env: deps.env,
    retries: deps.config.sftp.retries,
    retryDelayMs: deps.config.sftp.retryDelayMs,
    log: deps.log,
  })
  const outcomes: FileOutcome[] = []
  // Leftovers of killed pulls go first; this pull works in a folder of its own, removed when it ends.
  await sweepStaging(deps.config.stagingDir, { log: deps.log })
  const staging = await claimStagingFolder(deps.config.stagingDir)
  try {
    await removeStaleAnswers(session, { flowId: flow.id, remoteDir: source.remote_dir, log: deps.log })
    const listing = await session.list(source.remote_dir)
    const selection = selectFiles(listing, source, now())
    for (const w of selection.waiting) deps.log.info({ flowId: flow.id, file: w.file.name, reason: w.reason }, 'file not ready yet')
    for (const remote of selection.ready) {
      if (options.signal?.aborted) break
      const key = { flowId: flow.id, name: remote.name, size: remote.size, modifiedAt: remote.modifiedAt }
      const gate = await checkQuarantine(deps, key)
      if (!gate.fetch) {
        outcomes.push({
          name: remote.name, flow: flow.id, status: 'skipped', fileId: undefined, kind: undefined, accepted: 0, rejected: 0, superseded: 0,
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
          stagingDir: staging.dir,
          retries: deps.config.sftp.retries,
          retryDelayMs: deps.config.sftp.retryDelayMs,
          log: deps.log,
        })
      } catch (error) {
        deps.log.error({ flowId: flow.id, file: remote.name, err: { message: (error as Error).message } }, 'download failed')
        outcomes.push({
          name: remote.name, flow: flow.id, status: 'skipped', fileId: undefined, kind: undefined, accepted: 0, rejected: 0, superseded: 0,
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
        await acknowledge(session, { flowId: flow.id, source, log: deps.log }, remote.name, answerOf(outcome, now()))
      }
    }
    // Temporary answers a crash left behind (written under a hidden name, then renamed): this run's files are moved.
    await removeStaleAnswers(session, { flowId: flow.id, remoteDir: source.remote_dir, log: deps.log })
  } finally {
    await session.close()
    await staging.release()
  }
  return outcomes
}

/**
 * The acknowledgement of a file once its transaction committed. A file found already loaded or rejected (a crash
 * between the commit and the acknowledgement) is answered with what its `files` row recorded: the counts stored,
 * the rejection's code and message, never "0 accepted" or "already loaded".
 */
export function answerOf(outcome: FileOutcome, at: Date): AnswerOutcome {
  const recorded = outcome.status === 'skipped' ? outcome.recorded : undefined
  const loaded = outcome.status === 'loaded' || outcome.code === 'already_loaded'
  if (loaded) {
    return {
      status: 'loaded', fileId: outcome.fileId!, sha256: outcome.sha256, size: outcome.size,
      recordsAccepted: recorded?.accepted ?? outcome.accepted, recordsRejected: recorded?.rejected ?? outcome.rejected, loadedAt: at,
    }
  }
  const code = recorded ? (recorded.code ?? 'rejected') : (outcome.code ?? 'rejected')
  const message = recorded ? (recorded.reason ?? 'rejected') : (outcome.reason ?? 'rejected')
  return { status: 'rejected', fileId: outcome.fileId, sha256: outcome.sha256, size: outcome.size, reason: { code, message }, rejectedAt: at }
}
