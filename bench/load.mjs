// The load generator, started pinned to the other core: one autocannon run described by
// a JSON spec in argv[2]; prints the result as one JSON line. Bodies rotate through a list
// (e.g. device codes) so each code is polled in turn.
import { readFileSync } from 'node:fs'
import autocannon from 'autocannon'

const spec = JSON.parse(process.argv[2])
const bodies = spec.bodiesFile === undefined ? [spec.body] : JSON.parse(readFileSync(spec.bodiesFile, 'utf8'))
// Or headers rotate (e.g. 1,000 access tokens, each sent in turn).
const headerSets = spec.headersFile === undefined ? undefined : JSON.parse(readFileSync(spec.headersFile, 'utf8'))
let next = spec.offset ?? 0
const classes = {}
const classify = (status, body) => {
  let c = String(status)
  const m = /"error":"([a-z_]+)"/.exec(body ?? '')
  if (m !== null && spec.path !== '/ceiling') c += ` ${m[1]}`
  classes[c] = (classes[c] ?? 0) + 1
}

const instance = autocannon({
  url: `http://127.0.0.1:${spec.port}`,
  connections: spec.connections ?? 50,
  pipelining: 1,
  ...(spec.amount === undefined ? { duration: spec.seconds } : { amount: spec.amount }),
  timeout: 10,
  requests: [{
    method: spec.method,
    path: spec.path,
    headers: spec.headers ?? {},
    setupRequest: (req) => {
      const i = next++
      const body = bodies[i % bodies.length]
      if (body !== undefined && body !== null) req.body = body
      if (headerSets !== undefined) req.headers = { ...req.headers, ...headerSets[i % headerSets.length] }
      return req
    },
    onResponse: (status, body) => classify(status, body)
  }]
}, (err, result) => {
  if (err) {
    console.error(err)
    process.exit(1)
  }
  console.log(JSON.stringify({
    requests: result.requests.total,
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors,
    timeouts: result.timeouts,
    non2xx: result.non2xx,
    classes,
    seconds: result.duration
  }))
})
process.once('SIGINT', () => instance.stop())
