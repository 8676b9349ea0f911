// Real values from a live flow on the server under test, and forged ones made from them:
// the fuzz requests mix both, so they get past the first check and reach the code behind.
import { generateKeyPair, exportJWK, SignJWT, decodeJwt } from 'jose'
import type { FastifyInstance } from 'fastify'
import { sha256 } from '../../../src/oauth/codes.js'
import { DEVICE_CODE_GRANT } from '../../../src/oauth/grant-types.js'
import { addClient, addUser, PASSWORD } from '../../helpers/app.js'
import { Browser } from '../../helpers/browser.js'
import { basic, obtainTokens, startDeviceFlow } from '../../helpers/oauth.js'
import type { FuzzContext } from './requests.js'

const b64 = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url')

/** Tokens an attacker would try (RFC 8725 §2): alg none, HS256 keyed with our public key, unknown and odd kids, bad base64. */
async function forgedTokens (app: FastifyInstance, accessToken: string, idToken: string): Promise<string[]> {
  const [h, p, s] = accessToken.split('.') as [string, string, string]
  const header = JSON.parse(Buffer.from(h, 'base64url').toString()) as Record<string, unknown>
  const claims = decodeJwt(accessToken)
  const attacker = await generateKeyPair('RS256', { extractable: true })
  const attackerJwk = await exportJWK(attacker.publicKey)
  const sign = async (hdr: Record<string, unknown>, key: Parameters<SignJWT['sign']>[0], body: Record<string, unknown> = claims) =>
    await new SignJWT(body).setProtectedHeader(hdr as { alg: string }).sign(key)
  const pem = app.codepair.keys.publicKeysPem()
  const jwks = JSON.stringify(app.codepair.keys.jwks())
  const later = Math.floor(Date.now() / 1000) + 86400 * 365
  return [
    accessToken,
    idToken,
    `${b64({ ...header, alg: 'none' })}.${p}.`,
    `${b64({ alg: 'none', typ: 'at+jwt' })}.${p}.${s}`,
    `${b64({ ...header, alg: 'NONE' })}.${b64({ ...claims, scope: 'openid profile email admin' })}.`,
    await sign({ alg: 'HS256', typ: 'at+jwt', kid: header.kid }, new TextEncoder().encode(pem)),
    await sign({ alg: 'HS256', typ: 'at+jwt', kid: header.kid }, new TextEncoder().encode(jwks)),
    await sign({ alg: 'HS256', typ: 'at+jwt' }, new TextEncoder().encode(pem.split('\n').slice(1, -2).join(''))),
    await sign({ alg: 'RS256', typ: 'at+jwt', kid: 'unknown-kid' }, attacker.privateKey),
    await sign({ alg: 'RS256', typ: 'at+jwt', kid: header.kid }, attacker.privateKey, { ...claims, exp: later }),
    await sign({ alg: 'RS256', typ: 'at+jwt', jwk: attackerJwk }, attacker.privateKey),
    await sign({ alg: 'RS256', typ: 'at+jwt', kid: '../../../../dev/null' }, attacker.privateKey),
    await sign({ alg: 'RS256', typ: 'at+jwt', kid: "' OR 1=1 --" }, attacker.privateKey),
    await sign({ alg: 'RS256', typ: 'at+jwt', kid: 'k'.repeat(2000) }, attacker.privateKey),
    `${b64({ ...header, kid: 12345 })}.${p}.${s}`,
    `${b64({ ...header, kid: null, crit: ['exp'] })}.${p}.${s}`,
    `${b64({ ...header, alg: 'ES256' })}.${p}.${s}`,
    `${b64({ ...header, alg: 'PS256' })}.${p}.${s}`,
    `${b64({ ...header, typ: 'JWT' })}.${p}.${s}`,
    `${b64({ ...header, b64: false, crit: ['b64'] })}.${p}.${s}`,
    `${b64('not json')}.${p}.${s}`,
    `${b64('null')}.${p}.${s}`,
    `${b64('[1,2]')}.${p}.${s}`,
    `${b64('"x"')}.${p}.${s}`,
    `${h}.${b64('not json')}.${s}`,
    `${h}.${b64({ ...claims, exp: 'soon', iat: {}, sub: ['a'], scope: 42, aud: null })}.${s}`,
    `${h}.${p}.${s.slice(0, -2)}`,
    `${h}.${p}.${s}AA`,
    `${h}.${p}`,
    `${h}.${p}.${s}.${s}`,
    `${h}==.${p}==.${s}==`,
    `${h.replace(/-/g, '+').replace(/_/g, '/')}.${p}.${s}`,
    '!!!.@@@.###',
    'eyJ.eyJ.eyJ',
    '...',
    'a.b.c',
    `${h}.${'A'.repeat(12000)}.${s}`,
    'x'.repeat(14000)
  ]
}

export async function buildContext (app: FastifyInstance, port: number): Promise<FuzzContext> {
  const { storage } = app.codepair
  const publicClient = await addClient(app, { name: 'Fuzz TV' })
  const confidential = await addClient(app, { name: 'Fuzz Console', confidential: true })
  const secret = confidential.clientSecret ?? ''
  const user = await addUser(app)
  const now = Date.now()
  const tokens = await obtainTokens(app, publicClient.id, user.id, now, { scope: 'openid profile email offline_access' })
  // A second grant for /oauth/revoke to revoke, so that the first stays usable for the bearer APIs.
  const spare = await obtainTokens(app, publicClient.id, user.id, now, { scope: 'openid offline_access' })
  const pending = await startDeviceFlow(app, publicClient.id, { scope: 'openid' })
  const pendingRec = await storage.devices.findByDeviceCodeHash(sha256(pending.device_code))
  if (pendingRec === null) throw new Error('the pending flow is not stored')

  // A signed-in person with a code waiting for a decision, and one signed out: their
  // cookies and CSRF tokens get fuzz requests past the first checks of the pages.
  const signedIn = new Browser(app)
  const signIn = await signedIn.signIn('alice', PASSWORD)
  if (signIn.statusCode !== 303) throw new Error(`sign-in failed: ${signIn.statusCode}`)
  await signedIn.get('/account/devices')
  const anonymous = new Browser(app)
  await anonymous.get('/activate')
  const cookieOf = (b: Browser) => [...b.cookies].map(([k, v]) => `${k}=${v}`).join('; ')
  const realCookie = cookieOf(signedIn)
  const csrfTokens = [signedIn.csrf, anonymous.csrf]

  const anonymousCookie = cookieOf(anonymous)
  const pub: [string, string] = ['client_id', publicClient.id]
  const conf: Array<[string, string]> = [['client_id', confidential.id], ['client_secret', secret]]
  const deviceAuthorization = [{ params: [pub, ['scope', 'openid']] as Array<[string, string]> }, { params: [...conf, ['scope', 'openid offline_access']] as Array<[string, string]> }]
  const validForms: FuzzContext['validForms'] = {
    '/oauth/token': [
      { params: [['grant_type', DEVICE_CODE_GRANT], ['device_code', pending.device_code], pub] },
      { params: [['grant_type', 'refresh_token'], ['refresh_token', tokens.refresh_token as string], pub] },
      { params: [['grant_type', 'refresh_token'], ['refresh_token', spare.refresh_token as string], pub, ['scope', 'openid']] }
    ],
    '/oauth/device_authorization': deviceAuthorization,
    '/oauth/device': deviceAuthorization,
    '/oauth/device/authorize': [{ params: [pub, ['device_code', pending.device_code], ['auth_code', pending.user_code]] }],
    '/oauth/introspect': [
      { params: [...conf, ['token', tokens.access_token as string]] },
      { params: [...conf, ['token', tokens.refresh_token as string], ['token_type_hint', 'refresh_token']] }
    ],
    '/oauth/revoke': [
      { params: [pub, ['token', spare.access_token as string]] },
      { params: [pub, ['token', spare.refresh_token as string], ['token_type_hint', 'refresh_token']] }
    ],
    '/activate': [
      { params: [['user_code', pending.user_code], ['_csrf', anonymous.csrf]], cookie: anonymousCookie },
      { params: [['user_code', pending.user_code], ['_csrf', signedIn.csrf]], cookie: realCookie }
    ],
    '/activate/confirm': [{ params: [['decision', 'deny'], ['_csrf', signedIn.csrf]], cookie: realCookie }],
    '/login': [{ params: [['username', 'alice'], ['password', 'wrong password'], ['_csrf', anonymous.csrf]], cookie: anonymousCookie }],
    '/account/devices/disconnect': [{ params: [['grant', pendingRec.id], ['_csrf', signedIn.csrf]], cookie: realCookie }]
  }

  const forged = await forgedTokens(app, tokens.access_token as string, tokens.id_token as string)
  const realValues = [
    publicClient.id, confidential.id, secret, pending.device_code, pending.user_code, pending.user_code.replace('-', '').toLowerCase(),
    tokens.refresh_token as string, tokens.access_token as string, tokens.id_token as string, pendingRec.id,
    DEVICE_CODE_GRANT, 'refresh_token', 'openid', 'offline_access', 'approve', 'deny', 'access_token', 'alice', PASSWORD
  ]
  return {
    port,
    bodyLimit: app.codepair.config.bodyLimitBytes,
    realValues,
    authorizations: [
      ...forged.map(tok => `Bearer ${tok}`),
      `bearer  ${tokens.access_token as string}`,
      `Bearer ${tokens.refresh_token as string}`,
      `Bearer ${pending.device_code}`,
      `DPoP ${tokens.access_token as string}`,
      basic(confidential.id, secret),
      basic(confidential.id, 'wrong'),
      basic(publicClient.id, ''),
      basic('unknown-client', 'x'),
      `Basic ${Buffer.from(`${confidential.id}:${secret}`).toString('base64')}`,
      `Basic ${Buffer.from('%zz:%C3%28').toString('base64')}`,
      `Basic ${Buffer.from('no-colon').toString('base64')}`,
      `Basic ${Buffer.from(':').toString('base64')}`,
      'Basic !!!not-base64!!!',
      'Basic ====',
      `Basic ${'QUFB'.repeat(3000)}`,
      'Basic',
      'Bearer',
      'Bearer ',
      `Bearer ${tokens.access_token as string}, Basic ${Buffer.from('a:b').toString('base64')}`
    ],
    cookies: [
      realCookie,
      realCookie,
      cookieOf(anonymous),
      `${realCookie.slice(0, -1)}A`,
      `${realCookie.split('.')[0] ?? ''}`,
      `${realCookie}; ${realCookie.replace(/=.*/, '=garbage')}`,
      `${realCookie.replace(/=.*/, '=garbage')}; ${realCookie}`,
      'codepair=s%3Azz',
      'codepair=%E0%A4%A',
      'codepair=',
      `codepair=${'a'.repeat(8000)}`,
      '__proto__=x; constructor=y',
      ';;;=;',
      `a=${'b'.repeat(100)}; `.repeat(50)
    ],
    csrfTokens,
    validForms,
    // Signing out would end the session the page routes are fuzzed with.
    keepAway: { '/logout': [realCookie.split('=')[1] ?? realCookie] },
    pathParams: { file: [`${pendingRec.id}.svg`, `${pendingRec.id}.png`, `${pendingRec.id}.gif`, pendingRec.id, '00000000-0000-0000-0000-000000000000.svg'] }
  }
}
