import path from 'node:path'
import type { Logger } from '../log/logger.ts'
import { openSftpSession } from '../sftp/connect.ts'
import type { Recipient, SftpDestination } from './declaration.ts'

/**
 * Pushing an extract to its recipient. Behind this small interface so the run does not depend on the transport;
 * the default goes through the SFTP session of src/sftp/connect.ts.
 */
export interface ExtractPusher {
  /** Puts the files in the recipient's remote folder, in order (the manifest last); returns the remote paths. */
  push(recipient: Recipient & { sftp: SftpDestination }, files: readonly { localPath: string; name: string }[]): Promise<string[]>
}

export interface SftpPusherContext {
  env: NodeJS.ProcessEnv
  log: Logger
  retries: number
  retryDelayMs: number
}

/**
 * Streams each file under a temporary name then renames it (SftpSession.upload): the recipient never sees half a
 * file, the manifest, written last, tells them the data file is complete, and memory stays flat whatever the size.
 */
export function sftpPusher(ctx: SftpPusherContext): ExtractPusher {
  return {
    async push(recipient, files) {
      const session = await openSftpSession(recipient.sftp, {
        flowId: `extract:${recipient.id}`,
        env: ctx.env,
        retries: ctx.retries,
        retryDelayMs: ctx.retryDelayMs,
        log: ctx.log,
      })
      try {
        await session.mkdirp(recipient.sftp.remote_dir)
        const remotePaths: string[] = []
        for (const file of files) {
          const remotePath = path.posix.join(recipient.sftp.remote_dir, file.name)
          await session.upload(file.localPath, remotePath)
          remotePaths.push(remotePath)
        }
        return remotePaths
      } finally {
        await session.close()
      }
    },
  }
}
