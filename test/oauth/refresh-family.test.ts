// RFC 9700 §4.14 as a property: whatever the interleaving of the owner's refreshes, lost
// responses, a thief replaying a stolen token, and concurrent requests, a family never
// has more than one live refresh token, and a rotated token presented after its successor
// was used (or outside the grace window, or a revoked one) ends the family and the grant.
// Checked through the database after every step, on SQLite and PostgreSQL, with and
// without a grace window.
import fc from 'fast-check'
import type { LightMyRequestResponse } from 'fastify'
import type { Test } from 'tap'
import t from 'tap'
import { sha256 } from '../../src/oauth/codes.js'
import { addClient, addUser, buildTestApp, type TestApp } from '../helpers/app.js'
import { eachDatabase } from '../helpers/db.js'
import { obtainTokens, refresh } from '../helpers/oauth.js'

const GRACE_SECONDS = 10
const RUNS = 40

type Action = 'owner' | 'lost' | 'steal' | 'replayer' | 'race' | 'double'
interface Step { advance: number, action: Action }

const step = fc.record({
  // Around the grace window's edge, and well past it.
  advance: fc.constantFrom(0, 0, 1, 9, 10, 11, 40),
  action: fc.constantFrom<Action>('owner', 'owner', 'owner', 'lost', 'lost', 'steal', 'replayer', 'race', 'double')
})

/** What the database says a presented token is, judged before the step runs. */
type Class = 'live' | 'retry' | 'replay' | 'dead'

interface Presentation { token: string, cls: Class, successorId: string | null, res?: LightMyRequestResponse }

async function runProperty (t: Test, ctx: TestApp, graceSeconds: number): Promise<void> {
  const { app, clock } = ctx
  const db = app.codepair.storage.db
  const client = await addClient(app)
  const user = await addUser(app)
  const counts: Record<Class, number> = { live: 0, retry: 0, replay: 0, dead: 0 }

  async function classify (token: string): Promise<Presentation> {
    const row = await db.refreshToken.findUniqueOrThrow({ where: { tokenHash: sha256(token) }, include: { grant: true } })
    const p = { token, successorId: row.replacedById }
    if (row.revokedAt !== null || row.grant.revokedAt !== null) return { ...p, cls: 'dead' }
    if (row.rotatedAt === null) return { ...p, cls: 'live' }
    const successor = row.replacedById === null ? null : await db.refreshToken.findUnique({ where: { id: row.replacedById } })
    const unused = successor !== null && successor.rotatedAt === null && successor.revokedAt === null
    const inWindow = graceSeconds > 0 && clock.ms - row.rotatedAt.getTime() <= graceSeconds * 1000
    return { ...p, cls: unused && inWindow ? 'retry' : 'replay' }
  }

  const property = fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 10 }), async (steps: Step[]) => {
    const tokens = await obtainTokens(app, client.id, user.id, clock.ms, { scope: 'offline_access' })
    const first = await db.refreshToken.findUniqueOrThrow({ where: { tokenHash: sha256(tokens.refresh_token) } })
    const { familyId, grantId } = first
    const owner = { current: tokens.refresh_token as string }
    const thief: { current?: string } = {}
    let ended = false

    for (const s of steps) {
      clock.advance(s.advance)
      if (s.action === 'steal') { thief.current = owner.current; continue }
      const presented = s.action === 'owner' || s.action === 'lost' ? [owner.current]
        : s.action === 'replayer' ? (thief.current === undefined ? [] : [thief.current])
          : s.action === 'race' ? [owner.current, ...(thief.current === undefined ? [] : [thief.current])]
            : [owner.current, owner.current]
      if (presented.length === 0) continue
      const before = await Promise.all(presented.map(classify))
      for (const p of before) counts[p.cls]++
      const answers = await Promise.all(before.map(async p => await refresh(app, client.id, p.token)))
      answers.forEach((res, i) => { (before[i] as Presentation).res = res })
      const got = answers.map(r => r.statusCode === 200 ? r.json().refresh_token as string : undefined)

      // Who holds what next: a lost response leaves the owner with the token it sent.
      if (s.action === 'owner' || s.action === 'double' || s.action === 'race') {
        const mine = s.action === 'double' ? got.filter(x => x !== undefined).at(-1) : got[0]
        if (mine !== undefined) owner.current = mine
      }
      if (s.action === 'replayer' && got[0] !== undefined) thief.current = got[0]
      if (s.action === 'race' && got[1] !== undefined) thief.current = got[1]

      // The database after the step.
      const rows = await db.refreshToken.findMany({ where: { familyId } })
      const live = rows.filter(r => r.revokedAt === null && r.rotatedAt === null)
      const grant = await db.deviceAuthorization.findUniqueOrThrow({ where: { id: grantId } })
      const where = `step ${steps.indexOf(s) + 1} (${s.action}, +${s.advance} s, presented ${before.map(p => p.cls).join('+')})`

      if (live.length > 1) throw new Error(`${where}: ${live.length} live tokens in one family`)
      if (grant.revokedAt !== null && live.length > 0) throw new Error(`${where}: the grant is revoked but a token is live`)
      if (ended && grant.revokedAt === null) throw new Error(`${where}: an ended family came back`)
      // A replay after the successor's use (or outside the window), or a revoked token, ends it.
      for (const p of before) {
        if (p.cls !== 'replay' && p.cls !== 'dead') continue
        if (p.res?.statusCode === 200) throw new Error(`${where}: a ${p.cls} token got tokens`)
        if (p.res?.json().error !== 'invalid_grant') throw new Error(`${where}: a ${p.cls} token got ${p.res?.body}`)
        if (grant.revokedAt === null || live.length > 0) throw new Error(`${where}: a ${p.cls} token left the family alive`)
      }
      if (before.length === 1) {
        const [p] = before as [Presentation]
        if (p.cls === 'live' || p.cls === 'retry') {
          if (p.res?.statusCode !== 200) throw new Error(`${where}: a ${p.cls} token was refused: ${p.res?.body}`)
          const fresh = sha256(got[0] as string)
          if (live[0]?.tokenHash !== fresh) throw new Error(`${where}: the answer is not the one live token`)
          if (p.cls === 'retry') {
            const replaced = rows.find(r => r.id === p.successorId)
            if (replaced?.revokedAt === null) throw new Error(`${where}: the honoured retry left its successor live`)
          }
        }
      } else if (live.length === 1) {
        // Concurrent requests: whatever survives was handed out in this step.
        const handed = got.filter((x): x is string => x !== undefined).map(sha256)
        const wasLive = before.some(p => p.cls === 'live' && sha256(p.token) === live[0]?.tokenHash)
        if (!handed.includes(live[0]?.tokenHash ?? '') && !(wasLive && handed.length === 0)) throw new Error(`${where}: the live token was not handed out`)
      }
      ended = grant.revokedAt !== null
    }
  })
  await fc.assert(property, { numRuns: RUNS })
  t.pass(`${RUNS} runs; presentations judged before each step: ${JSON.stringify(counts)}`)
  t.ok(counts.replay > 0 && counts.live > 0 && counts.dead > 0 && (graceSeconds === 0 || counts.retry > 0), 'every kind of presentation occurred')
}

for (const grace of [0, GRACE_SECONDS]) {
  void eachDatabase(t, `refresh families, grace ${grace} s`, async (t, databaseUrl) => {
    const ctx = await buildTestApp(t, { databaseUrl, env: { REFRESH_TOKEN_REUSE_GRACE_SECONDS: String(grace) } })
    await runProperty(t, ctx, grace)
  })
}
