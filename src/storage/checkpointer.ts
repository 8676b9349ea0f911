// WAL checkpoints off the event loop. A checkpoint copies the WAL back into the
// database file and fsyncs it; run inside a commit (SQLite's automatic checkpoint) it
// stalls every request behind it for that fsync. Here a worker thread with its own
// connection checkpoints every `intervalMs` (PASSIVE: writers never wait for it), and
// the app's connections turn automatic checkpoints off.
import { Worker } from 'node:worker_threads'

const WORKER = `
const { parentPort, workerData } = require('node:worker_threads')
const Database = require(workerData.driver)
const db = new Database(workerData.file, { timeout: 5000 })
const tick = () => { try { db.pragma('wal_checkpoint(PASSIVE)') } catch (err) { parentPort.postMessage({ error: String(err && err.message) }) } }
const timer = setInterval(tick, workerData.intervalMs)
parentPort.on('message', (m) => { if (m === 'stop') { clearInterval(timer); tick(); db.close(); parentPort.postMessage('stopped') } })
`

export interface Checkpointer { stop (): Promise<void> }

export function startCheckpointer (file: string, intervalMs = 1000, onError: (message: string) => void = () => {}): Checkpointer {
  const worker = new Worker(WORKER, {
    eval: true,
    workerData: { file, intervalMs, driver: import.meta.resolve('better-sqlite3').replace(/^file:\/\//, '') }
  })
  worker.unref()
  worker.on('message', (m: unknown) => { if (typeof m === 'object' && m !== null && 'error' in m) onError(String((m as { error: string }).error)) })
  worker.on('error', (err) => onError(err.message))
  return {
    async stop () {
      await new Promise<void>((resolve) => {
        const done = setTimeout(() => { void worker.terminate().then(() => resolve()) }, 2000)
        worker.once('message', (m) => { if (m === 'stopped') { clearTimeout(done); void worker.terminate().then(() => resolve()) } })
        worker.postMessage('stop')
      })
    }
  }
}
