// A minimal HTTP/1.1 client over raw sockets, for the fuzz suite: fetch and undici refuse
// to send most of what we want to send (invalid bytes in the target, odd methods, repeated
// or malformed framing headers), so requests are written byte for byte here.
import { connect, type Socket } from 'node:net'

export interface RawResponse {
  status: number
  /** Lower-cased names; repeated headers joined with ", " (set-cookie with "\n"). */
  headers: Record<string, string>
  body: Buffer
}

const CRLFCRLF = Buffer.from('\r\n\r\n')

/**
 * Parses one response from the start of `buf`: the response and the bytes it used, or
 * null when more bytes are needed. `eof`: the connection closed, so a body without a
 * length ends here.
 */
export function parseResponse (buf: Buffer, isHead: boolean, eof: boolean): { response: RawResponse, used: number } | null {
  const end = buf.indexOf(CRLFCRLF)
  if (end === -1) return null
  const lines = buf.subarray(0, end).toString('latin1').split('\r\n')
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '')
  if (m === null) throw new Error(`not an HTTP response: ${JSON.stringify(lines[0])}`)
  const status = Number(m[1])
  const headers: Record<string, string> = {}
  for (const line of lines.slice(1)) {
    const i = line.indexOf(':')
    const name = line.slice(0, i).trim().toLowerCase()
    const value = line.slice(i + 1).trim()
    headers[name] = headers[name] === undefined ? value : `${headers[name]}${name === 'set-cookie' ? '\n' : ', '}${value}`
  }
  let pos = end + 4
  if (isHead || status === 204 || status === 304 || (status >= 100 && status < 200)) {
    return { response: { status, headers, body: Buffer.alloc(0) }, used: pos }
  }
  if (/chunked/i.test(headers['transfer-encoding'] ?? '')) {
    const chunks: Buffer[] = []
    for (;;) {
      const lineEnd = buf.indexOf('\r\n', pos)
      if (lineEnd === -1) return null
      const size = parseInt(buf.subarray(pos, lineEnd).toString('latin1'), 16)
      if (Number.isNaN(size)) throw new Error('bad chunk size')
      if (buf.length < lineEnd + 2 + size + 2) return null
      if (size === 0) {
        // No trailers from node's server: the last chunk is followed by one empty line.
        return { response: { status, headers, body: Buffer.concat(chunks) }, used: lineEnd + 4 }
      }
      chunks.push(buf.subarray(lineEnd + 2, lineEnd + 2 + size))
      pos = lineEnd + 2 + size + 2
    }
  }
  const length = headers['content-length']
  if (length !== undefined) {
    const n = Number(length)
    if (buf.length < pos + n) return null
    return { response: { status, headers, body: Buffer.from(buf.subarray(pos, pos + n)) }, used: pos + n }
  }
  if (!eof) return null
  return { response: { status, headers, body: Buffer.from(buf.subarray(pos)) }, used: buf.length }
}

/** One keep-alive connection sending one request at a time. */
export class RawConnection {
  private socket: Socket | undefined
  private buf: Buffer = Buffer.alloc(0)
  private waiting: { isHead: boolean, resolve: (r: RawResponse | null) => void, reject: (e: Error) => void } | undefined
  private eof = false

  constructor (private readonly port: number, private readonly timeoutMs: number) {}

  private open (): Socket {
    const socket = connect({ host: '127.0.0.1', port: this.port, noDelay: true })
    this.buf = Buffer.alloc(0)
    this.eof = false
    // Events of a socket we have already let go of must not touch the current one's state.
    socket.on('data', chunk => {
      if (this.socket !== socket) return
      this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk])
      this.settle()
    })
    socket.on('error', () => {}) // reported as a close without a response
    socket.on('close', () => {
      if (this.socket !== socket) return
      this.eof = true
      this.settle()
      this.socket = undefined
    })
    this.socket = socket
    return socket
  }

  private settle (): void {
    const w = this.waiting
    if (w === undefined) return
    let parsed: ReturnType<typeof parseResponse>
    try {
      parsed = parseResponse(this.buf, w.isHead, this.eof)
      while (parsed !== null && parsed.response.status < 200) {
        // 100 Continue (Expect: 100-continue): the real answer follows.
        this.buf = this.buf.subarray(parsed.used)
        parsed = parseResponse(this.buf, w.isHead, this.eof)
      }
    } catch (err) {
      this.waiting = undefined
      w.reject(err as Error)
      return
    }
    if (parsed === null) {
      if (this.eof) {
        this.waiting = undefined
        w.resolve(null)
      }
      return
    }
    this.buf = this.buf.subarray(parsed.used)
    this.waiting = undefined
    if (/\bclose\b/i.test(parsed.response.headers.connection ?? '')) this.close()
    w.resolve(parsed.response)
  }

  /** Resolves with the response, or null when the server closed the connection without one. */
  async send (bytes: Buffer, isHead: boolean): Promise<RawResponse | null> {
    const socket = this.socket ?? this.open()
    return await new Promise<RawResponse | null>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting = undefined
        this.close()
        reject(new Error(`no response within ${this.timeoutMs} ms`))
      }, this.timeoutMs)
      this.waiting = {
        isHead,
        resolve: r => { clearTimeout(timer); resolve(r) },
        reject: e => { clearTimeout(timer); reject(e) }
      }
      socket.write(bytes)
    })
  }

  close (): void {
    this.socket?.destroy()
    this.socket = undefined
  }
}

/**
 * Sends `bytes` on a fresh connection, half-closes it and collects every response until the
 * server closes: for framing the parser must refuse (it may answer once, or not at all).
 */
export async function sendOnce (port: number, bytes: Buffer, isHead: boolean, timeoutMs: number): Promise<RawResponse[]> {
  return await new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port })
    const chunks: Buffer[] = []
    const timer = setTimeout(() => { socket.destroy(); reject(new Error(`connection not closed within ${timeoutMs} ms`)) }, timeoutMs)
    socket.on('data', c => chunks.push(c))
    socket.on('error', () => {})
    socket.on('close', () => {
      clearTimeout(timer)
      let buf = Buffer.concat(chunks)
      const responses: RawResponse[] = []
      try {
        for (;;) {
          const parsed = parseResponse(buf, isHead, true)
          if (parsed === null) break
          if (parsed.response.status >= 200) responses.push(parsed.response) // not 100 Continue
          buf = buf.subarray(parsed.used)
          if (buf.length === 0) break
        }
      } catch (err) {
        reject(err as Error)
        return
      }
      resolve(responses)
    })
    socket.end(bytes)
  })
}
