// A webhook receiver on 127.0.0.1 for tests: records every request and answers as the
// test says (a status, or no answer at all until the test releases it or closes).
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Test } from 'tap'

export interface Received { headers: IncomingHttpHeaders, body: string, at: number }
export type Answer = number | 'hang'

export interface Receiver {
  url: string
  received: Received[]
  /** Decides each answer (default 204); `received` already holds the request. */
  answer: (r: Received, index: number) => Answer
  /** Answers every request left hanging with `status`. */
  release: (status?: number) => void
  /** Resolves once `predicate` holds for what was received (generous bound for busy CI). */
  waitFor: (predicate: (received: Received[]) => boolean, what: string, timeoutMs?: number) => Promise<void>
}

export async function startReceiver (t: Test): Promise<Receiver> {
  const hanging: ServerResponse[] = []
  const receiver: Receiver = {
    url: '',
    received: [],
    answer: () => 204,
    release (status = 204) { for (const res of hanging.splice(0)) if (!res.destroyed) res.writeHead(status).end() },
    async waitFor (predicate, what, timeoutMs = 60_000) {
      const until = Date.now() + timeoutMs
      while (!predicate(receiver.received)) {
        if (Date.now() > until) throw new Error(`receiver: no ${what} within ${timeoutMs} ms; got ${receiver.received.length} requests: ${receiver.received.map(r => JSON.parse(r.body).type).join(', ')}`)
        await new Promise(resolve => setTimeout(resolve, 25))
      }
    }
  }
  const server = createServer((req, res) => {
    let body = ''
    req.setEncoding('utf8')
    req.on('data', chunk => { body += chunk })
    req.on('end', () => {
      const r = { headers: req.headers, body, at: Date.now() }
      receiver.received.push(r)
      const answer = receiver.answer(r, receiver.received.length - 1)
      if (answer === 'hang') hanging.push(res)
      else res.writeHead(answer).end()
    })
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/codepair`
  t.teardown(async () => {
    server.closeAllConnections()
    await new Promise(resolve => server.close(resolve))
  })
  return receiver
}

export const typeOf = (r: Received): string => (JSON.parse(r.body) as { type: string }).type
