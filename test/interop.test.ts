// An independent client library (openid-client, on oauth4webapi) runs the whole device
// flow against a listening codepair with no special casing, and jose's remote JWKS
// verifies the access token as an external resource server would.
import { createRemoteJWKSet, jwtVerify } from 'jose'
import * as oidc from 'openid-client'
import t from 'tap'
import { addClient, addUser, buildTestApp, PASSWORD, testPort } from './helpers/app.js'
import { Browser } from './helpers/browser.js'
import { systemClockTest } from './helpers/clock.js'

t.test('openid-client: discovery, device flow, refresh, introspection, userinfo, revocation', async t => {
  const port = testPort()
  const issuer = `http://127.0.0.1:${port}`
  const { app } = await buildTestApp(t, { env: { ISSUER: issuer, PORT: String(port), POLL_INTERVAL_SECONDS: '1' }, clock: systemClockTest() })
  await app.listen({ host: '127.0.0.1', port })
  const client = await addClient(app, { confidential: true, name: 'Interop TV' })
  await addUser(app)

  const config = await oidc.discovery(new URL(issuer), client.id, client.clientSecret, undefined, { execute: [oidc.allowInsecureRequests] })
  t.equal(config.serverMetadata().device_authorization_endpoint, `${issuer}/oauth/device_authorization`)

  const started = await oidc.initiateDeviceAuthorization(config, { scope: 'openid profile offline_access' })
  t.match(started.user_code, /^[A-Z]{4}-[A-Z]{4}$/)
  const polling = oidc.pollDeviceAuthorizationGrant(config, started)

  // The person: opens verification_uri_complete, signs in, checks the code, approves.
  const browser = new Browser(app)
  const page = await browser.openConfirmation(started.user_code, 'alice', PASSWORD)
  t.match(page.body, started.user_code, 'the confirmation page shows the same code')
  t.match(page.body, 'Interop TV')
  t.equal((await browser.post('/activate/confirm', { decision: 'approve' })).statusCode, 303)

  const tokens = await polling
  t.type(tokens.access_token, 'string')
  t.type(tokens.refresh_token, 'string')
  const idClaims = tokens.claims()
  t.equal(idClaims?.iss, issuer, 'openid-client validated the id_token')
  const sub = String(idClaims?.sub)

  const jwks = createRemoteJWKSet(new URL(`${issuer}/.well-known/jwks.json`))
  const { payload, protectedHeader } = await jwtVerify(tokens.access_token, jwks, { issuer, audience: issuer, typ: 'at+jwt', algorithms: ['RS256'] })
  t.equal(protectedHeader.typ, 'at+jwt')
  t.equal(payload.sub, sub)
  t.equal(payload.client_id, client.id)

  const info = await oidc.fetchUserInfo(config, tokens.access_token, sub)
  t.equal(info.preferred_username, 'alice')

  const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token ?? '')
  t.not(refreshed.refresh_token, tokens.refresh_token, 'rotated')

  const live = await oidc.tokenIntrospection(config, refreshed.access_token)
  t.equal(live.active, true)
  t.equal(live.sub, sub)

  await oidc.tokenRevocation(config, refreshed.refresh_token ?? '')
  t.equal((await oidc.tokenIntrospection(config, refreshed.refresh_token ?? '')).active, false)
  const dead = await oidc.refreshTokenGrant(config, refreshed.refresh_token ?? '').then(() => null, (e: unknown) => e as { error?: string })
  t.equal(dead?.error, 'invalid_grant', 'a revoked refresh token is dead')

  // RFC 7009 §2.1: revoking a refresh token also ends the access tokens of its grant, and
  // the resource server learns it at once (requireScope reads the grant's state).
  const me = await fetch(`${issuer}/api/me`, { headers: { authorization: `Bearer ${refreshed.access_token}` } })
  t.equal(me.status, 401, 'the access token of the revoked grant is refused')
  t.match(me.headers.get('www-authenticate'), /error="invalid_token"/)
  t.equal((await oidc.tokenIntrospection(config, refreshed.access_token)).active, false, 'and introspection says so')
})

t.test('openid-client sees a denial as access_denied', async t => {
  const port = testPort()
  const issuer = `http://127.0.0.1:${port}`
  const { app } = await buildTestApp(t, { env: { ISSUER: issuer, PORT: String(port), POLL_INTERVAL_SECONDS: '1' }, clock: systemClockTest() })
  await app.listen({ host: '127.0.0.1', port })
  const client = await addClient(app)
  await addUser(app)
  const config = await oidc.discovery(new URL(issuer), client.id, { token_endpoint_auth_method: 'none' }, oidc.None(), { execute: [oidc.allowInsecureRequests] })
  const started = await oidc.initiateDeviceAuthorization(config, { scope: 'openid' })
  const polling = oidc.pollDeviceAuthorizationGrant(config, started)
  await new Browser(app).decide(started.user_code, 'alice', PASSWORD, 'deny')
  const denied = await polling.then(() => null, (e: unknown) => e as { error?: string })
  t.equal(denied?.error, 'access_denied')
})
