// A server under test, started by bench/run.mjs pinned to one core:
//   node bench/server.mjs ceiling    a bare Fastify 5 POST route returning small JSON
//   node bench/server.mjs codepair   buildApp(loadConfig()) from dist/, configured by env
// Prints "READY <port>" and answers {type: 'memory'} IPC messages with process.memoryUsage().
import Fastify from 'fastify'

const kind = process.argv[2]
let app
if (kind === 'ceiling') {
  app = Fastify({ logger: false })
  app.post('/ceiling', async () => ({ ok: true, error: 'authorization_pending' }))
} else {
  const { buildApp } = await import('../dist/app.js')
  const { loadConfig } = await import('../dist/config.js')
  app = await buildApp(loadConfig())
}
await app.listen({ host: '127.0.0.1', port: 0 })
process.on('message', (m) => {
  if (m?.type === 'memory') {
    if (m.gc === true && typeof global.gc === 'function') global.gc()
    process.send({ type: 'memory', memory: process.memoryUsage() })
  }
})
process.on('SIGTERM', () => { app.close().then(() => process.exit(0)) })
console.log(`READY ${app.server.address().port}`)
