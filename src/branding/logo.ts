// The operator's logo file: read once at start-up, its type taken from its bytes (not from
// the file name), so what /assets/logo serves is what its Content-Type says.
import { readFileSync } from 'node:fs'

export const MAX_LOGO_BYTES = 256 * 1024

export interface Logo { bytes: Buffer, contentType: string }

const SIGNATURES: Array<{ type: string, matches: (b: Buffer) => boolean }> = [
  { type: 'image/png', matches: b => b.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) },
  { type: 'image/jpeg', matches: b => b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff },
  { type: 'image/gif', matches: b => /^GIF8[79]a/.test(b.subarray(0, 6).toString('latin1')) },
  { type: 'image/webp', matches: b => b.subarray(0, 4).toString('latin1') === 'RIFF' && b.subarray(8, 12).toString('latin1') === 'WEBP' },
  { type: 'image/svg+xml', matches: b => /^\s*(<\?xml[^>]*>\s*)?(<!--[\s\S]*?-->\s*)*(<!DOCTYPE svg[^>]*>\s*)?<svg[\s>]/i.test(b.subarray(0, 4096).toString('utf8').replace(/^\uFEFF/, '')) }
]

export function sniffImageType (bytes: Buffer): string | undefined {
  return SIGNATURES.find(s => s.matches(bytes))?.type
}

/** Reads and checks the logo; throws a message fit for a configuration error. */
export function readLogo (path: string): Logo {
  let bytes: Buffer
  try {
    bytes = readFileSync(path)
  } catch (err) {
    throw new Error(`cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? String(err)})`)
  }
  if (bytes.length === 0) throw new Error(`${path} is empty`)
  if (bytes.length > MAX_LOGO_BYTES) throw new Error(`${path} is ${Math.ceil(bytes.length / 1024)} KiB; a logo may be at most ${MAX_LOGO_BYTES / 1024} KiB`)
  const contentType = sniffImageType(bytes)
  if (contentType === undefined) throw new Error(`${path} is not a PNG, JPEG, GIF, WebP or SVG image`)
  return { bytes, contentType }
}
