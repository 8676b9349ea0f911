// A TCP proxy in front of PostgreSQL that a test can cut and restore: a real
// database outage as the app sees it (refused and reset connections).
import net from 'node:net'
import type { Test } from 'tap'
import { freshPostgresUrl } from './db.js'

export class TcpProxy {
  #server: net.Server | undefined
  readonly #sockets = new Set<net.Socket>()
  port = 0

  constructor (private readonly targetPort: number, private readonly targetHost = '127.0.0.1') {}

  async start (): Promise<number> {
    const server = net.createServer(client => {
      const upstream = net.connect(this.targetPort, this.targetHost)
      for (const s of [client, upstream]) {
        this.#sockets.add(s)
        s.on('close', () => this.#sockets.delete(s))
        s.on('error', () => { client.destroy(); upstream.destroy() })
      }
      client.pipe(upstream).pipe(client)
    })
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(this.port, '127.0.0.1', () => resolve())
    })
    this.port = (server.address() as net.AddressInfo).port
    this.#server = server
    return this.port
  }

  /** Drops every connection and refuses new ones. */
  async stop (): Promise<void> {
    for (const s of this.#sockets) s.destroy()
    this.#sockets.clear()
    const server = this.#server
    this.#server = undefined
    if (server !== undefined) await new Promise<void>(resolve => server.close(() => resolve()))
  }
}

/** A fresh PostgreSQL database reached through a TcpProxy the test can cut; stopped in teardown. */
export async function postgresBehindProxy (t: Test): Promise<{ url: string, proxy: TcpProxy }> {
  const direct = new URL(await freshPostgresUrl(t))
  const proxy = new TcpProxy(Number(direct.port || 5432))
  await proxy.start()
  t.teardown(async () => { await proxy.stop() })
  const viaProxy = new URL(direct)
  viaProxy.port = String(proxy.port)
  return { url: viaProxy.toString(), proxy }
}
