// The pooled random source behind device codes, secrets, ids and poll nonces.
import t from 'tap'
import { generateDeviceCode } from '../../src/oauth/codes.js'
import { randomBytesPooled } from '../../src/oauth/random.js'

t.test('bytes are handed out once and never change afterwards', async t => {
  const first = randomBytesPooled(32)
  const kept = Buffer.from(first)
  const seen = new Set<string>([kept.toString('hex')])
  // Several pools' worth: every slice is new, and the first one is never overwritten.
  for (let i = 0; i < 3 * 16384 / 32; i++) {
    const hex = randomBytesPooled(32).toString('hex')
    if (seen.has(hex)) t.fail('a slice repeated')
    seen.add(hex)
  }
  t.equal(seen.size, 1 + 3 * 16384 / 32)
  t.same(first, kept, 'a slice handed out earlier is unchanged after the pool was replaced')
  t.equal(randomBytesPooled(20000).length, 20000, 'larger requests bypass the pool')
})

t.test('device codes carry 256 bits: 43 base64url characters, all distinct', async t => {
  const codes = new Set(Array.from({ length: 2000 }, generateDeviceCode))
  t.equal(codes.size, 2000)
  for (const c of codes) if (!/^[A-Za-z0-9_-]{43}$/.test(c)) t.fail(`malformed ${c}`)
})
