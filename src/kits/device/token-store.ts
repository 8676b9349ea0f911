// Where a device keeps its tokens between runs.
import { randomBytes } from 'node:crypto'
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises'
import { dirname } from 'node:path'
import type { TokenSet } from './client.js'

export interface TokenStore {
  load (): Promise<TokenSet | null>
  save (tokens: TokenSet): Promise<void>
  clear (): Promise<void>
}

export class MemoryTokenStore implements TokenStore {
  #tokens: TokenSet | null = null
  async load (): Promise<TokenSet | null> { return this.#tokens }
  async save (tokens: TokenSet): Promise<void> { this.#tokens = { ...tokens } }
  async clear (): Promise<void> { this.#tokens = null }
}

/**
 * A JSON file readable only by its owner (0600, folder 0700). Writes go to a temporary
 * file that is flushed and renamed over the old one, so a crash never leaves a torn
 * file and a rotated refresh token is never lost half-written.
 */
export class FileTokenStore implements TokenStore {
  constructor (readonly path: string) {}

  async load (): Promise<TokenSet | null> {
    let text: string
    try {
      text = await readFile(this.path, 'utf8')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null
      throw err
    }
    const t = JSON.parse(text) as TokenSet
    return typeof t.accessToken === 'string' ? t : null
  }

  async save (tokens: TokenSet): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true, mode: 0o700 })
    const tmp = `${this.path}.${randomBytes(6).toString('hex')}.tmp`
    const file = await open(tmp, 'w', 0o600)
    try {
      await file.writeFile(JSON.stringify(tokens, null, 2))
      await file.sync()
    } finally {
      await file.close()
    }
    await rename(tmp, this.path)
  }

  async clear (): Promise<void> {
    await rm(this.path, { force: true })
  }
}
