// Signing keys supplied through SIGNING_KEYS / SIGNING_KEYS_FILE: the first key signs, the
// others stay published, nothing is generated or stored, and rotation is done by editing
// the configuration without any live token failing.
import { generateKeyPairSync } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createLocalJWKSet, decodeProtectedHeader, exportJWK, importSPKI, jwtVerify } from 'jose'
import t from 'tap'
import { configProblems } from '../helpers/config.js'
import { loadConfig } from '../../src/config.js'
import { addClient, addUser, buildTestApp } from '../helpers/app.js'
import { cli } from '../helpers/cli.js'
import { obtainTokens } from '../helpers/oauth.js'

const rsa = () => generateKeyPairSync('rsa', { modulusLength: 2048 })
const pem = (k: ReturnType<typeof rsa>) => k.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string
const spki = (k: { publicKey: { export: (o: any) => string | Buffer } }) => k.publicKey.export({ type: 'spki', format: 'pem' }) as string

// Not t.testdir(): buildTestApp puts its database there and replaces the directory.
function keyFile (t: any, content: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'codepair-keys-'))
  t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })
  const file = join(dir, 'keys.pem')
  writeFileSync(file, content, { mode: 0o600 })
  return file
}

const problems = configProblems

t.test('configuration errors name the variable and the key, never echo key material', async t => {
  const small = generateKeyPairSync('rsa', { modulusLength: 1024 })
  const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' })
  const one = rsa()
  const secretPart = (await exportJWK(one.privateKey)).d ?? ''
  const dir = mkdtempSync(join(tmpdir(), 'codepair-nokeys-'))
  const cases: Array<[Record<string, string>, RegExp]> = [
    [{ SIGNING_KEYS: pem(one), SIGNING_KEYS_FILE: '/x' }, /SIGNING_KEYS, SIGNING_KEYS_FILE: set one of them, not both/],
    [{ SIGNING_KEYS_FILE: join(dir, 'missing.pem') }, /SIGNING_KEYS_FILE: cannot read .*missing\.pem \(ENOENT\)/],
    [{ SIGNING_KEYS: '{"keys": [' }, /SIGNING_KEYS: not valid JSON/],
    [{ SIGNING_KEYS: 'hello' }, /SIGNING_KEYS: no key found/],
    [{ SIGNING_KEYS: small.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string }, /key 1: RSA keys need at least 2048 bits \(this one has 1024\)/],
    [{ SIGNING_KEYS: pem(one) + (p384.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string) }, /key 2: EC keys must be on P-256/],
    [{ SIGNING_KEYS: JSON.stringify({ kty: 'oct', k: 'c2VjcmV0' }) }, /key 1: a symmetric key cannot sign/],
    [{ SIGNING_KEYS: spki(one) }, /the first key signs, so it must be a private key/],
    [{ SIGNING_KEYS: pem(one) + pem(one) }, /key 2: the same key appears twice/],
    [{ SIGNING_KEYS: JSON.stringify({ ...(await exportJWK(one.privateKey)), alg: 'ES256' }) }, /key 1: "alg" is ES256 but the key is for RS256/],
    [{ SIGNING_KEYS: JSON.stringify({ ...(await exportJWK(one.privateKey)), use: 'enc' }) }, /key 1: "use" is "enc", expected "sig"/],
    [{ SIGNING_KEYS: pem(one), SIGNING_ALG: 'ES256' }, /SIGNING_ALG: is ES256 but the first key in SIGNING_KEYS is for RS256; set SIGNING_ALG=RS256 or leave it unset/],
    [{ SIGNING_KEYS: '-----BEGIN PRIVATE KEY-----\nnot base64\n-----END PRIVATE KEY-----' }, /key 1: the PRIVATE KEY block cannot be read/]
  ]
  for (const [env, expected] of cases) {
    const message = problems(env)
    t.match(message, expected, Object.keys(env).join(' '))
    t.notMatch(message, secretPart.slice(0, 20), 'no private key material in the message')
    t.notMatch(message, 'MII', 'no PEM in the message')
  }
})

t.test('formats: PEM (PKCS#8, PKCS#1, SEC1, with \\n escapes), JWK, JWK Set; algorithms from the key', async t => {
  const r = rsa()
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const ed = generateKeyPairSync('ed25519')
  const algOf = (v: string) => loadConfig({ SIGNING_KEYS: v }).signingKeys?.keys.map(k => k.alg)
  t.same(algOf(pem(r)), ['RS256'])
  t.same(algOf(r.privateKey.export({ type: 'pkcs1', format: 'pem' }) as string), ['RS256'])
  t.same(algOf(ec.privateKey.export({ type: 'sec1', format: 'pem' }) as string), ['ES256'])
  t.same(algOf((ed.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string).replace(/\n/g, '\\n')), ['EdDSA'], 'one-line PEM with \\n escapes')
  t.same(algOf(JSON.stringify(await exportJWK(ec.privateKey))), ['ES256'], 'a single JWK')
  const set = { keys: [{ ...await exportJWK(ed.privateKey), kid: 'ed-2026' }, await exportJWK(r.publicKey)] }
  const c = loadConfig({ SIGNING_KEYS: JSON.stringify(set) })
  t.same(c.signingKeys?.keys.map(k => [k.alg, k.kid, k.privateJwk === undefined]), [['EdDSA', 'ed-2026', false], ['RS256', undefined, true]])
  t.equal(c.signingAlg, 'EdDSA', 'the first key decides the algorithm')
  t.ok(Object.isFrozen(c.signingKeys?.keys[0]?.publicJwk))
})

t.test('the first configured key signs; the rest are published; nothing is generated or stored', async t => {
  const signer = rsa()
  const next = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const file = keyFile(t, pem(signer) + spki(next))
  const { app, clock } = await buildTestApp(t, { env: { SIGNING_KEYS_FILE: file } })
  const client = await addClient(app)
  const user = await addUser(app)
  const tokens = await obtainTokens(app, client.id, user.id, clock.ms, { scope: 'openid profile' })

  const jwks = (await app.inject('/.well-known/jwks.json')).json()
  t.equal(jwks.keys.length, 2)
  t.same(jwks.keys.map((k: any) => k.alg), ['RS256', 'ES256'])
  t.notOk(jwks.keys.some((k: any) => 'd' in k), 'public halves only')
  t.equal(decodeProtectedHeader(tokens.access_token).kid, jwks.keys[0].kid)
  // Verifiable with nothing but the configured public key, as an external party would.
  const { payload } = await jwtVerify(tokens.access_token, await importSPKI(spki(signer), 'RS256'), { typ: 'at+jwt', currentDate: new Date(clock.now()) })
  t.equal(payload.sub, user.id)
  t.equal(decodeProtectedHeader(tokens.id_token).kid, jwks.keys[0].kid, 'ID tokens too')
  t.equal(await app.codepair.storage.db.signingKey.count(), 0, 'no key was generated into the database')
  t.same((await app.inject('/.well-known/openid-configuration')).json().id_token_signing_alg_values_supported, ['RS256'])
})

t.test('rotation by configuration: [old] → [new, old] → [new]; live tokens keep verifying until the old key leaves', async t => {
  const oldKey = rsa()
  const newKey = rsa()
  const first = await buildTestApp(t, { env: { SIGNING_KEYS: pem(oldKey) } })
  const { databaseUrl } = first.config
  const clock = first.clock
  const client = await addClient(first.app)
  const user = await addUser(first.app)
  const before = await obtainTokens(first.app, client.id, user.id, clock.ms, { scope: 'profile' })
  await first.app.close()

  const me = async (app: typeof first.app, token: string) => (await app.inject({ url: '/api/me', headers: { authorization: `Bearer ${token}` } })).statusCode
  const both = await buildTestApp(t, { databaseUrl, clock, env: { SIGNING_KEYS: pem(newKey) + pem(oldKey) } })
  const after = await obtainTokens(both.app, client.id, user.id, clock.ms, { scope: 'profile' })
  t.not(decodeProtectedHeader(after.access_token).kid, decodeProtectedHeader(before.access_token).kid, 'the new key signs')
  t.equal(await me(both.app, before.access_token), 200, 'a token from the old key still verifies')
  t.equal(await me(both.app, after.access_token), 200)
  const set = createLocalJWKSet((await both.app.inject('/.well-known/jwks.json')).json())
  const at = { currentDate: new Date(clock.now()) }
  await t.resolves(jwtVerify(before.access_token, set, at), 'an external verifier with the published JWKS accepts both')
  await t.resolves(jwtVerify(after.access_token, set, at))
  await both.app.close()

  const last = await buildTestApp(t, { databaseUrl, clock, env: { SIGNING_KEYS: pem(newKey) } })
  t.equal(await me(last.app, before.access_token), 401, 'once the old key is removed, its tokens are refused')
  t.equal(await me(last.app, after.access_token), 200)
})

t.test('`codepair keys` with configured keys: list shows them, rotate explains where to rotate', async t => {
  const { config } = await buildTestApp(t)
  const file = keyFile(t, pem(rsa()) + pem(rsa()))
  const env = { SECRET_KEY: 'test-secret-key-that-is-long-enough-0123456789', SIGNING_KEYS_FILE: file }
  Object.assign(process.env, env)
  t.teardown(() => { for (const k of Object.keys(env)) Reflect.deleteProperty(process.env, k) })
  const list = await cli(config.databaseUrl, ['keys', 'list', '--json'])
  t.equal(list.code, 0, list.stderr)
  t.same(JSON.parse(list.stdout).map((k: any) => [k.alg, k.state]), [['RS256', 'retiring'], ['RS256', 'active']])
  const rotate = await cli(config.databaseUrl, ['keys', 'rotate'])
  t.not(rotate.code, 0)
  t.match(rotate.stderr, /signing keys come from SIGNING_KEYS_FILE; rotate them there: put the new private key first/)
})
