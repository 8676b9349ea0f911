// `codepair device`: a simulated TV built on the device kit. It shows the code large,
// a QR code of the link, a countdown and the polling state, then calls /api/me.
import figlet from 'figlet'
import { EXIT } from '../exit-codes.js'
import QRCode from 'qrcode'
import { DeviceClient, type DeviceAuthorization, type PollState } from '../kits/device/client.js'
import { AccessDeniedError, DeviceCodeExpiredError } from '../kits/device/errors.js'
import { DeviceSession } from '../kits/device/session.js'
import { FileTokenStore, MemoryTokenStore } from '../kits/device/token-store.js'

/** Exit codes (src/exit-codes.ts), so scripts can tell the outcomes apart. */
export const DEVICE_EXIT = { approved: EXIT.ok, error: EXIT.failure, usage: EXIT.usage, denied: EXIT.deviceDenied, expired: EXIT.deviceExpired } as const

export interface SimulatorOptions {
  issuer: string
  clientId: string
  clientSecret?: string
  scope?: string
  resource?: string
  tokenFile?: string
  out?: NodeJS.WritableStream & { isTTY?: boolean }
  signal?: AbortSignal
}

function remaining (expiresAt: number): string {
  const s = Math.max(0, Math.round((expiresAt - Date.now()) / 1000))
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`
}

export async function showCode (auth: DeviceAuthorization, out: NodeJS.WritableStream): Promise<void> {
  const big = figlet.textSync(auth.userCode, { font: 'Standard' })
  out.write(`\nTo connect this device, visit\n\n    ${auth.verificationUri}\n\nand enter the code\n\n${big.replace(/^/gm, '    ')}\n\n    ${auth.userCode}\n`)
  if (auth.verificationUriComplete !== undefined) {
    const qr = await QRCode.toString(auth.verificationUriComplete, { type: 'terminal', small: true, errorCorrectionLevel: 'M' })
    out.write(`\nor scan this with your phone:\n\n${qr}\n    ${auth.verificationUriComplete}\n`)
  }
  out.write('\n')
}

/** "Alice Example (alice)", "alice", or undefined when the token had no profile scope. */
export function approvedBy (me: { preferred_username?: string, name?: string }): string | undefined {
  if (me.preferred_username === undefined) return me.name
  return me.name === undefined || me.name === me.preferred_username ? me.preferred_username : `${me.name} (${me.preferred_username})`
}

export async function runDeviceSimulator (o: SimulatorOptions): Promise<number> {
  const out = o.out ?? process.stdout
  const tty = out.isTTY === true
  const client = await DeviceClient.discover({ issuer: o.issuer, clientId: o.clientId, clientSecret: o.clientSecret, userAgent: 'codepair device simulator' })
  const auth = await client.start({ scope: o.scope, resource: o.resource })
  await showCode(auth, out)

  let status = `waiting for approval (polling every ${auth.interval} s)`
  const draw = () => { if (tty) out.write(`\r\x1b[2K${status} — code expires in ${remaining(auth.expiresAt)}`) }
  const ticker = setInterval(draw, 1000)
  if (!tty) out.write(`${status}; the code expires in ${remaining(auth.expiresAt)}\n`)
  const onProgress = (p: PollState) => {
    const next = p.state === 'pending'
      ? `waiting for approval (polling every ${p.interval} s)`
      : p.state === 'slow_down'
        ? `server asked to slow down: polling every ${p.interval} s`
        : `server unavailable (${p.reason}); retrying in ${p.retryInSeconds} s`
    if (next !== status) {
      status = next
      if (!tty) out.write(`${status}\n`)
    }
    draw()
  }

  const store = o.tokenFile === undefined ? new MemoryTokenStore() : new FileTokenStore(o.tokenFile)
  const session = new DeviceSession(client, store)
  try {
    const tokens = await client.poll(auth, { onProgress, signal: o.signal })
    await session.begin(tokens)
  } catch (err) {
    if (tty) out.write('\n')
    if (err instanceof AccessDeniedError) {
      out.write('The request was denied on the phone. Nothing was shared.\n')
      return DEVICE_EXIT.denied
    }
    if (err instanceof DeviceCodeExpiredError) {
      out.write('The code expired before anyone approved it. Run the command again for a new code.\n')
      return DEVICE_EXIT.expired
    }
    throw err
  } finally {
    clearInterval(ticker)
  }
  if (tty) out.write('\n')
  out.write(`Approved. Calling ${o.issuer}/api/me with the new access token…\n`)
  const me = await session.fetch(`${o.issuer}/api/me`)
  const identity = await me.json() as { preferred_username?: string, name?: string }
  // With the profile scope /api/me names the person; without it only the subject id is known.
  const who = approvedBy(identity)
  if (who !== undefined) out.write(`Approved by ${who}.\n`)
  out.write(`${JSON.stringify(identity, null, 2)}\n`)
  if (o.tokenFile !== undefined) out.write(`Tokens saved to ${o.tokenFile} (owner-only).\n`)
  return DEVICE_EXIT.approved
}
