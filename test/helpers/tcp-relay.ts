import net from 'node:net'

/**
 * A TCP relay on loopback in front of a server (an SFTP server), for tests that need the network to go silent at a
 * chosen moment: `hold()` keeps the server's bytes from the client from now on, `holdAfter(n)` once `n` more bytes
 * went through; `release()` delivers what was held and lets everything through again.
 */
export interface TcpRelay {
  port: number
  /** True once the server's bytes are being held. */
  readonly held: boolean
  hold(): void
  holdAfter(bytes: number): void
  release(): void
  close(): Promise<void>
}

export async function startTcpRelay(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpRelay> {
  const sockets = new Set<net.Socket>()
  let limit = Infinity
  let passed = 0
  let held = false
  const waiting: (() => void)[] = []
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, targetHost)
    sockets.add(client).add(upstream)
    client.on('data', (d) => upstream.write(d))
    upstream.on('data', (d) => {
      if (held) return void waiting.push(() => client.write(d))
      passed += d.length
      if (passed >= limit) held = true
      client.write(d)
    })
    const drop = () => (client.destroy(), upstream.destroy())
    client.on('error', drop).on('close', drop)
    upstream.on('error', drop).on('close', drop)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    port: (server.address() as net.AddressInfo).port,
    get held() {
      return held
    },
    hold() {
      held = true
    },
    holdAfter(bytes) {
      passed = 0
      limit = bytes
    },
    release() {
      held = false
      limit = Infinity
      for (const w of waiting.splice(0)) w()
    },
    close() {
      for (const s of sockets) s.destroy()
      return new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
