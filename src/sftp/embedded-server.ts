import { timingSafeEqual } from 'node:crypto'
import { constants as fsConstants, type Stats } from 'node:fs'
import fs from 'node:fs/promises'
import net from 'node:net'
import path from 'node:path'
import ssh2 from 'ssh2'
import type { Connection, ParsedKey, SFTPWrapper } from 'ssh2'
import type { SftpSource } from '../flows/flow.ts'
import type { Logger } from '../log/logger.ts'
import { fingerprintOfKeyBlob } from './host-key.ts'

const { Server, utils } = ssh2
const { OPEN_MODE, STATUS_CODE } = utils.sftp

/**
 * Faults to inject, for tests. Mutable on the running server (`server.faults.cutAfterBytes = ...`).
 */
export interface EmbeddedSftpFaults {
  /** Destroy the TCP connection, without a goodbye, once it has served this many bytes of file content. */
  cutAfterBytes?: number
  /** How many connections to cut that way before serving normally again (default: every one). */
  cutConnections?: number
  /** Create the file of an OPEN whose remote path matches, then never answer it (a server hung mid-write). */
  stallOpen?: RegExp
}

export interface EmbeddedSftpServerOptions {
  /** The local folder served as `/`. Created if missing. */
  root: string
  /** 0 (default) for a free port. */
  port?: number
  /** Loopback only by default. */
  host?: string
  user?: string
  faults?: EmbeddedSftpFaults
  log?: Logger
}

export interface EmbeddedSftpServer {
  host: string
  port: number
  user: string
  /** The user's private key (OpenSSH format), the only credential accepted. */
  privateKey: string
  /** `SHA256:...` of the server's host key, for a flow's `host_key_env`. */
  hostKeyFingerprint: string
  root: string
  faults: EmbeddedSftpFaults
  /** Counters for tests: connections accepted, connections cut by a fault. */
  stats: { connections: number; cuts: number }
  close(): Promise<void>
}

type OpenHandle =
  | { kind: 'file'; file: fs.FileHandle }
  | { kind: 'dir'; localPath: string; entries: string[] | undefined; next: number }

/**
 * An in-process SFTP server on loopback (npm `ssh2`), for the no-setup demo and for fault-injection tests.
 * Public-key authentication for one user, both keys generated at start; serves one local folder as `/`, with
 * the operations an SFTP client needs to list, download, upload, rename, remove and create directories.
 * No path can reach outside the folder: paths are normalised against `/`, and symbolic links are followed
 * only when they stay inside. Renaming over an existing file fails, as on OpenSSH.
 */
export async function startEmbeddedSftpServer(options: EmbeddedSftpServerOptions): Promise<EmbeddedSftpServer> {
  const user = options.user ?? 'passerelle'
  await fs.mkdir(options.root, { recursive: true })
  const root = await fs.realpath(options.root)
  const hostKeys = utils.generateKeyPairSync('ed25519')
  const userKeys = utils.generateKeyPairSync('ed25519', { comment: `${user}@passerelle-embedded-sftp` })
  const allowedKey = parseOrThrow(userKeys.public)
  const hostKeyFingerprint = fingerprintOfKeyBlob(parseOrThrow(hostKeys.public).getPublicSSH())
  const faults: EmbeddedSftpFaults = { ...options.faults }
  const stats = { connections: 0, cuts: 0 }
  const sockets = new Map<number, net.Socket>()
  const log = options.log

  const ssh = new Server({ hostKeys: [hostKeys.private] }, (client: Connection, info: { port: number }) => {
    stats.connections++
    const socket = sockets.get(info.port)
    const connection = { served: 0, cut: false }
    client.on('error', (error: Error) => log?.debug({ err: error.message }, 'embedded sftp: client error'))
    client.on('authentication', (ctx) => {
      if (ctx.method !== 'publickey' || !sameBytes(Buffer.from(ctx.username), Buffer.from(user))) return ctx.reject(['publickey'])
      if (ctx.key.algo !== allowedKey.type || !sameBytes(ctx.key.data, allowedKey.getPublicSSH())) return ctx.reject(['publickey'])
      if (ctx.signature && allowedKey.verify(ctx.blob!, ctx.signature, ctx.hashAlgo) !== true) return ctx.reject(['publickey'])
      ctx.accept()
    })
    client.on('ready', () => {
      client.on('session', (acceptSession) => {
        const session = acceptSession()
        session.on('sftp', (acceptSftp) => {
          const sftp = acceptSftp()
          serveSftp(sftp, root, (bytes) => {
            connection.served += bytes
            const limit = faults.cutAfterBytes
            if (limit === undefined || connection.cut || connection.served < limit) return false
            if ((faults.cutConnections ?? Infinity) <= stats.cuts) return false
            connection.cut = true
            stats.cuts++
            log?.debug({ served: connection.served }, 'embedded sftp: cutting the connection (fault injection)')
            socket?.destroy()
            return true
          }, faults)
        })
      })
    })
  })

  const tcp = net.createServer((socket) => {
    const port = socket.remotePort
    if (port !== undefined) {
      sockets.set(port, socket)
      socket.on('close', () => sockets.delete(port))
    }
    ssh.injectSocket(socket)
  })
  const host = options.host ?? '127.0.0.1'
  await new Promise<void>((resolve, reject) => {
    tcp.once('error', reject)
    tcp.listen(options.port ?? 0, host, () => {
      tcp.off('error', reject)
      resolve()
    })
  })
  const port = (tcp.address() as net.AddressInfo).port
  log?.debug({ host, port }, 'embedded sftp: listening')

  return {
    host,
    port,
    user,
    privateKey: userKeys.private,
    hostKeyFingerprint,
    root,
    faults,
    stats,
    async close() {
      for (const socket of sockets.values()) socket.destroy()
      await new Promise<void>((resolve) => tcp.close(() => resolve()))
    },
  }
}

/**
 * The environment that points a flow's declared source at this server: the variables its `${VAR}` host, port and
 * user name, and its `private_key_env` / `host_key_env`. For the no-setup demo: merge into the env given to the pull,
 * and put the demo files under `<root><remote_dir>` (the flows' `remote_dir` is absolute, `/` being the root),
 * modified longer ago than the flow's `min_age_seconds`.
 */
export function embeddedServerEnv(source: SftpSource, server: Pick<EmbeddedSftpServer, 'host' | 'port' | 'user' | 'privateKey' | 'hostKeyFingerprint'>): Record<string, string> {
  const env: Record<string, string> = {}
  const bind = (template: string | number, value: string) => {
    if (typeof template !== 'string') return
    const match = /^\$\{([A-Z_][A-Z0-9_]*)(?::-[^}]*)?\}$/.exec(template.trim())
    if (match) env[match[1]!] = value
  }
  bind(source.host, server.host)
  bind(source.port, String(server.port))
  bind(source.user, server.user)
  if (source.private_key_env) env[source.private_key_env] = server.privateKey
  if (source.host_key_env) env[source.host_key_env] = server.hostKeyFingerprint
  return env
}

function parseOrThrow(key: string): ParsedKey {
  const parsed = utils.parseKey(key)
  if (parsed instanceof Error) throw parsed
  return Array.isArray(parsed) ? parsed[0]! : parsed
}

function sameBytes(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b)
}

/** A client path as an absolute path under `/`, with `.` and `..` resolved and never above `/`. */
export function normaliseRemotePath(remotePath: string): string {
  return path.posix.normalize(path.posix.join('/', remotePath.replace(/\0/g, '')))
}

/**
 * The local path for a client path, or `undefined` when it would leave the root: the deepest existing ancestor
 * (or the path itself when `followFinal` and it exists) must resolve, symbolic links included, inside the root.
 */
async function localPathFor(root: string, remotePath: string, followFinal: boolean): Promise<string | undefined> {
  const virtual = normaliseRemotePath(remotePath)
  // `/` is the root itself (already a real path), whether or not the final component is followed: checking its
  // parent instead, as for any other path not followed, would put the served folder outside itself (an `lstat /`,
  // which `mkdir -p` clients send first, was refused).
  if (virtual === '/') return root
  const local = path.join(root, virtual)
  let probe = followFinal ? local : path.dirname(local)
  for (;;) {
    try {
      const real = await fs.realpath(probe)
      return real === root || real.startsWith(root + path.sep) ? local : undefined
    } catch {
      if (probe === root || probe.length <= root.length) return undefined
      probe = path.dirname(probe)
    }
  }
}

function statusFor(error: unknown): number {
  switch ((error as NodeJS.ErrnoException)?.code) {
    case 'ENOENT':
    case 'ENOTDIR':
      return STATUS_CODE.NO_SUCH_FILE
    case 'EACCES':
    case 'EPERM':
      return STATUS_CODE.PERMISSION_DENIED
    default:
      return STATUS_CODE.FAILURE
  }
}

function attrsOf(stats: Stats) {
  return {
    mode: stats.mode,
    uid: stats.uid,
    gid: stats.gid,
    size: stats.size,
    atime: Math.floor(stats.atimeMs / 1000),
    mtime: Math.floor(stats.mtimeMs / 1000),
  }
}

/** An `ls -l` line, which clients read the entry type and permissions from. */
function longnameOf(name: string, stats: Stats): string {
  const type = stats.isDirectory() ? 'd' : stats.isSymbolicLink() ? 'l' : stats.isFile() ? '-' : '?'
  const bits = 'rwxrwxrwx'
  let permissions = ''
  for (let i = 0; i < 9; i++) permissions += stats.mode & (1 << (8 - i)) ? bits[i] : '-'
  const date = new Date(stats.mtimeMs).toISOString().slice(0, 16).replace('T', ' ')
  return `${type}${permissions} 1 ${stats.uid} ${stats.gid} ${stats.size} ${date} ${name}`
}

function serveSftp(sftp: SFTPWrapper, root: string, countServed: (bytes: number) => boolean, faults: EmbeddedSftpFaults = {}): void {
  const handles = new Map<number, OpenHandle>()
  let nextHandle = 1
  const handleBuffer = (id: number) => {
    const buffer = Buffer.alloc(4)
    buffer.writeUInt32BE(id)
    return buffer
  }
  const lookup = (handle: Buffer): [number, OpenHandle] | undefined => {
    if (handle.length !== 4) return undefined
    const id = handle.readUInt32BE(0)
    const open = handles.get(id)
    return open ? [id, open] : undefined
  }
  /** Runs a request, answering FAILURE/NO_SUCH_FILE... on an exception, PERMISSION_DENIED outside the root. */
  const guarded = (reqid: number, work: () => Promise<void>) => {
    work().catch((error: unknown) => sftp.status(reqid, statusFor(error)))
  }
  const inside = async (reqid: number, remotePath: string, followFinal: boolean) => {
    const local = await localPathFor(root, remotePath, followFinal)
    if (local === undefined) sftp.status(reqid, STATUS_CODE.PERMISSION_DENIED, 'outside the served folder')
    return local
  }

  sftp.on('end', () => {
    for (const open of handles.values()) if (open.kind === 'file') void open.file.close().catch(() => {})
    handles.clear()
  })

  sftp.on('REALPATH', (reqid: number, remotePath: string) => {
    const virtual = normaliseRemotePath(remotePath)
    sftp.name(reqid, [{ filename: virtual, longname: virtual, attrs: {} as never }])
  })

  const statRequest = (follow: boolean) => (reqid: number, remotePath: string) =>
    guarded(reqid, async () => {
      const local = await inside(reqid, remotePath, follow)
      if (local === undefined) return
      const stats = follow ? await fs.stat(local) : await fs.lstat(local)
      sftp.attrs(reqid, attrsOf(stats))
    })
  sftp.on('STAT', statRequest(true))
  sftp.on('LSTAT', statRequest(false))

  sftp.on('OPEN', (reqid: number, remotePath: string, flags: number) =>
    guarded(reqid, async () => {
      const local = await inside(reqid, remotePath, true)
      if (local === undefined) return
      const mode = utils.sftp.flagsToString(flags)
      if (mode === null) return sftp.status(reqid, STATUS_CODE.OP_UNSUPPORTED)
      // Never follow a final symbolic link when creating: it could point outside.
      const noFollow = flags & OPEN_MODE.CREAT ? fsConstants.O_NOFOLLOW : 0
      const file = await fs.open(local, noFollow ? toNumericFlags(flags) | noFollow : mode, 0o644)
      if ((await file.stat()).isDirectory()) {
        await file.close()
        return sftp.status(reqid, STATUS_CODE.FAILURE, 'is a directory')
      }
      const id = nextHandle++
      handles.set(id, { kind: 'file', file })
      if (faults.stallOpen?.test(remotePath)) return
      sftp.handle(reqid, handleBuffer(id))
    }),
  )

  sftp.on('READ', (reqid: number, handle: Buffer, offset: number, length: number) =>
    guarded(reqid, async () => {
      const found = lookup(handle)
      if (!found || found[1].kind !== 'file') return sftp.status(reqid, STATUS_CODE.FAILURE)
      const buffer = Buffer.alloc(Math.min(length, 256 * 1024))
      const { bytesRead } = await found[1].file.read(buffer, 0, buffer.length, offset)
      if (bytesRead === 0) return sftp.status(reqid, STATUS_CODE.EOF)
      if (countServed(bytesRead)) return
      sftp.data(reqid, buffer.subarray(0, bytesRead))
    }),
  )

  sftp.on('WRITE', (reqid: number, handle: Buffer, offset: number, data: Buffer) =>
    guarded(reqid, async () => {
      const found = lookup(handle)
      if (!found || found[1].kind !== 'file') return sftp.status(reqid, STATUS_CODE.FAILURE)
      await found[1].file.write(data, 0, data.length, offset)
      sftp.status(reqid, STATUS_CODE.OK)
    }),
  )

  sftp.on('FSTAT', (reqid: number, handle: Buffer) =>
    guarded(reqid, async () => {
      const found = lookup(handle)
      if (!found) return sftp.status(reqid, STATUS_CODE.FAILURE)
      const stats = found[1].kind === 'file' ? await found[1].file.stat() : await fs.stat(found[1].localPath)
      sftp.attrs(reqid, attrsOf(stats))
    }),
  )

  sftp.on('FSETSTAT', (reqid: number, handle: Buffer, attrs: { mode?: number; atime?: number; mtime?: number }) =>
    guarded(reqid, async () => {
      const found = lookup(handle)
      if (!found || found[1].kind !== 'file') return sftp.status(reqid, STATUS_CODE.FAILURE)
      if (attrs.mode !== undefined) await found[1].file.chmod(attrs.mode & 0o777)
      if (attrs.atime !== undefined && attrs.mtime !== undefined) await found[1].file.utimes(attrs.atime, attrs.mtime)
      sftp.status(reqid, STATUS_CODE.OK)
    }),
  )

  sftp.on('SETSTAT', (reqid: number, remotePath: string, attrs: { mode?: number; atime?: number; mtime?: number }) =>
    guarded(reqid, async () => {
      const local = await inside(reqid, remotePath, true)
      if (local === undefined) return
      if (attrs.mode !== undefined) await fs.chmod(local, attrs.mode & 0o777)
      if (attrs.atime !== undefined && attrs.mtime !== undefined) await fs.utimes(local, attrs.atime, attrs.mtime)
      sftp.status(reqid, STATUS_CODE.OK)
    }),
  )

  sftp.on('CLOSE', (reqid: number, handle: Buffer) =>
    guarded(reqid, async () => {
      const found = lookup(handle)
      if (!found) return sftp.status(reqid, STATUS_CODE.FAILURE)
      handles.delete(found[0])
      if (found[1].kind === 'file') await found[1].file.close()
      sftp.status(reqid, STATUS_CODE.OK)
    }),
  )

  sftp.on('OPENDIR', (reqid: number, remotePath: string) =>
    guarded(reqid, async () => {
      const local = await inside(reqid, remotePath, true)
      if (local === undefined) return
      if (!(await fs.stat(local)).isDirectory()) return sftp.status(reqid, STATUS_CODE.NO_SUCH_FILE, 'not a directory')
      const id = nextHandle++
      handles.set(id, { kind: 'dir', localPath: local, entries: undefined, next: 0 })
      sftp.handle(reqid, handleBuffer(id))
    }),
  )

  sftp.on('READDIR', (reqid: number, handle: Buffer) =>
    guarded(reqid, async () => {
      const found = lookup(handle)
      if (!found || found[1].kind !== 'dir') return sftp.status(reqid, STATUS_CODE.FAILURE)
      const dir = found[1]
      dir.entries ??= await fs.readdir(dir.localPath)
      // A few entries per answer: an SFTP packet is limited to some 34 KB.
      const names = []
      while (names.length < 64 && dir.next < dir.entries.length) {
        const name = dir.entries[dir.next++]!
        const stats = await fs.lstat(path.join(dir.localPath, name)).catch(() => undefined)
        if (stats) names.push({ filename: name, longname: longnameOf(name, stats), attrs: attrsOf(stats) as never })
      }
      if (names.length === 0) return sftp.status(reqid, STATUS_CODE.EOF)
      sftp.name(reqid, names)
    }),
  )

  sftp.on('REMOVE', (reqid: number, remotePath: string) =>
    guarded(reqid, async () => {
      const local = await inside(reqid, remotePath, false)
      if (local === undefined) return
      await fs.unlink(local)
      sftp.status(reqid, STATUS_CODE.OK)
    }),
  )

  sftp.on('RMDIR', (reqid: number, remotePath: string) =>
    guarded(reqid, async () => {
      const local = await inside(reqid, remotePath, false)
      if (local === undefined) return
      if (local === root) return sftp.status(reqid, STATUS_CODE.PERMISSION_DENIED)
      await fs.rmdir(local)
      sftp.status(reqid, STATUS_CODE.OK)
    }),
  )

  sftp.on('MKDIR', (reqid: number, remotePath: string) =>
    guarded(reqid, async () => {
      const local = await inside(reqid, remotePath, false)
      if (local === undefined) return
      await fs.mkdir(local)
      sftp.status(reqid, STATUS_CODE.OK)
    }),
  )

  sftp.on('RENAME', (reqid: number, fromPath: string, toPath: string) =>
    guarded(reqid, async () => {
      const from = await inside(reqid, fromPath, false)
      if (from === undefined) return
      if (from === root) return sftp.status(reqid, STATUS_CODE.PERMISSION_DENIED)
      const to = await inside(reqid, toPath, false)
      if (to === undefined) return
      // SFTP v3 (and OpenSSH): renaming over an existing file fails.
      const taken = await fs.lstat(to).then(() => true, () => false)
      if (taken) return sftp.status(reqid, STATUS_CODE.FAILURE, 'target exists')
      await fs.rename(from, to)
      sftp.status(reqid, STATUS_CODE.OK)
    }),
  )

  for (const unsupported of ['READLINK', 'SYMLINK']) {
    sftp.on(unsupported, (reqid: number) => sftp.status(reqid, STATUS_CODE.OP_UNSUPPORTED))
  }
}

/** SFTP open flags as numeric fs flags (used when O_NOFOLLOW must be added). */
function toNumericFlags(flags: number): number {
  let result = 0
  const read = (flags & OPEN_MODE.READ) !== 0
  const write = (flags & OPEN_MODE.WRITE) !== 0
  result |= read && write ? fsConstants.O_RDWR : write ? fsConstants.O_WRONLY : fsConstants.O_RDONLY
  if (flags & OPEN_MODE.APPEND) result |= fsConstants.O_APPEND
  if (flags & OPEN_MODE.CREAT) result |= fsConstants.O_CREAT
  if (flags & OPEN_MODE.TRUNC) result |= fsConstants.O_TRUNC
  if (flags & OPEN_MODE.EXCL) result |= fsConstants.O_EXCL
  return result
}
