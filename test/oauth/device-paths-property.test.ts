// Single use across both polling paths as a property: whatever the interleaving of polls at
// /oauth/token and /oauth/device/authorize (concurrent batches, right, respelt, wrong or no
// auth_code, on time or too early), the person's decision coming at any point, a device
// code yields tokens at most once, a wrong auth_code never redeems and never takes the
// approval away, and an approval nobody redeemed is still there at the end. On SQLite and
// PostgreSQL.
import fc from 'fast-check'
import type { LightMyRequestResponse } from 'fastify'
import t from 'tap'
import { sha256 } from '../../src/oauth/codes.js'
import { addClient, addUser, buildTestApp } from '../helpers/app.js'
import { eachDatabase } from '../helpers/db.js'
import { poll, postForm, startDeviceFlow } from '../helpers/oauth.js'

const RUNS = 40

type Kind = 'token' | 'own' | 'own-respelt' | 'own-wrong' | 'own-none'
const batch = fc.record({
  // Before the batch: nothing or 1 s (too early), the current interval less 1 s (inside the
  // leeway) or the whole interval (on time): slow_down grows it, so it is read each time.
  advance: fc.constantFrom<'0' | '1' | 'interval-1' | 'interval'>('0', '1', 'interval-1', 'interval', 'interval'),
  polls: fc.array(fc.constantFrom<Kind>('token', 'own', 'own-respelt', 'own-wrong', 'own-none'), { minLength: 1, maxLength: 6 })
})

void eachDatabase(t, 'one redemption across both paths, whatever the interleaving', async (t, databaseUrl) => {
  // An hour's lifetime: six batches of too-early polls can grow the interval past 100 s,
  // and the property is about single use, not expiry.
  const { app, clock } = await buildTestApp(t, { databaseUrl, env: { DEVICE_CODE_TTL_SECONDS: '3600' } })
  const db = app.codepair.storage.db
  const client = await addClient(app)
  const user = await addUser(app)
  const seen: Record<string, number> = {}

  const property = fc.asyncProperty(
    fc.array(batch, { minLength: 1, maxLength: 6 }),
    fc.nat({ max: 6 }),
    fc.constantFrom<'approved' | 'denied'>('approved', 'approved', 'denied'),
    async (batches, decideBefore, decision) => {
      const flow = await startDeviceFlow(app, client.id)
      const id = (await db.deviceAuthorization.findUniqueOrThrow({ where: { deviceCodeHash: sha256(flow.device_code) } })).id
      const send = async (kind: Kind): Promise<LightMyRequestResponse> => {
        if (kind === 'token') return await poll(app, client.id, flow.device_code)
        const authCode = { own: flow.user_code, 'own-respelt': flow.user_code.toLowerCase().replace('-', ' '), 'own-wrong': 'BCDF-GHJK', 'own-none': undefined }[kind]
        return await postForm(app, '/oauth/device/authorize', { client_id: client.id, device_code: flow.device_code, ...(authCode === undefined ? {} : { auth_code: authCode }) })
      }
      const interval = async () => (await db.deviceAuthorization.findUniqueOrThrow({ where: { id } })).intervalSeconds
      let redeemed = 0
      const decide = async () => {
        if (!await app.codepair.storage.devices.decide(id, decision, user.id, new Date(clock.ms))) throw new Error('could not decide')
      }

      for (const [i, b] of batches.entries()) {
        if (i === decideBefore) await decide()
        clock.advance(b.advance === '0' ? 0 : b.advance === '1' ? 1 : await interval() - (b.advance === 'interval-1' ? 1 : 0))
        const results = await Promise.all(b.polls.map(async kind => ({ kind, res: await send(kind) })))
        for (const { kind, res } of results) {
          const answer = res.statusCode === 200 ? 'tokens' : String(res.json().error)
          seen[answer] = (seen[answer] ?? 0) + 1
          if (res.statusCode >= 500) throw new Error(`${kind}: ${res.statusCode} ${res.body}`)
          if (kind === 'own-wrong' && answer !== 'invalid_grant') throw new Error(`a wrong auth_code was answered ${answer}`)
          if (answer === 'tokens') redeemed++
          if (answer === 'tokens' && decision !== 'approved') throw new Error('tokens for a denied code')
        }
        if (redeemed > 1) throw new Error(`redeemed ${redeemed} times`)
      }
      if (decideBefore >= batches.length) await decide()

      // One (grown) interval after everything, so not too early: an approval nobody redeemed is still there.
      clock.advance(await interval())
      const last = await send('own')
      const expected = decision === 'denied' ? 'access_denied' : redeemed === 1 ? 'invalid_grant' : 'tokens'
      const got = last.statusCode === 200 ? 'tokens' : String(last.json().error)
      if (got !== expected) throw new Error(`final poll: ${got}, expected ${expected} (redeemed ${redeemed})`)

      const issued = await db.auditEvent.count({ where: { type: 'token.issued', detail: { contains: id } } })
      if (issued !== (decision === 'approved' ? 1 : 0)) throw new Error(`${issued} grants written`)
    })

  await fc.assert(property, { numRuns: RUNS })
  t.pass(`${RUNS} interleavings; answers seen: ${JSON.stringify(seen)}`)
  t.ok((seen.tokens ?? 0) > 0 && (seen.slow_down ?? 0) > 0 && (seen.invalid_grant ?? 0) > 0 && (seen.authorization_pending ?? 0) > 0,
    'the runs met tokens, slow_down, invalid_grant and authorization_pending')
})
