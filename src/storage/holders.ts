// Who has a SQLite file open. Prisma's migration engine takes SQLite's EXCLUSIVE lock
// (PRAGMA locking_mode=EXCLUSIVE), which no other open connection allows, so migrating
// while a server runs on the same file can only wait for it or name it. Linux tells
// through /proc/<pid>/fd; elsewhere the list is empty and the message stays generic.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs'

export interface Holder { pid: number, command: string }

export function processesHolding (file: string, self = process.pid): Holder[] {
  const names = new Set([file, `${file}-wal`, `${file}-shm`])
  let pids: string[]
  try {
    pids = readdirSync('/proc').filter(p => /^\d+$/.test(p) && Number(p) !== self)
  } catch {
    return []
  }
  const holders: Holder[] = []
  for (const pid of pids) {
    let fds: string[]
    try {
      fds = readdirSync(`/proc/${pid}/fd`)
    } catch {
      continue // gone, or not ours to look at
    }
    const holds = fds.some(fd => {
      try { return names.has(readlinkSync(`/proc/${pid}/fd/${fd}`)) } catch { return false }
    })
    if (holds) holders.push({ pid: Number(pid), command: commandOf(pid) })
  }
  return holders
}

function commandOf (pid: string): string {
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(a => a !== '')
    const text = argv.map(a => a.startsWith('/') && argv.length > 1 ? a.split('/').slice(-3).join('/') : a).join(' ')
    return text.length > 80 ? `${text.slice(0, 77)}...` : text
  } catch {
    return 'unknown'
  }
}

export function describeHolders (holders: Holder[]): string {
  return holders.map(h => `process ${h.pid} (${h.command})`).join(', ')
}
