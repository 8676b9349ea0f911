// UPSTREAM_PROVIDERS_FILE and PASSWORD_SIGN_IN: good files load with their defaults; every
// mistake stops start-up with the provider and the field named.
import { generateKeyPairSync } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { loadConfig } from '../../src/config.js'
import { configProblems } from '../helpers/config.js'

function dir (t: Test): string {
  const d = mkdtempSync(join(tmpdir(), 'codepair-upstream-config-'))
  t.teardown(() => rmSync(d, { recursive: true, force: true }))
  return d
}

function file (t: Test, content: unknown, name = 'providers.json'): string {
  const path = join(dir(t), name)
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content))
  return path
}

const base = { name: 'corp', issuer: 'https://login.corp.example', clientId: 'codepair', clientSecret: 's3cret-value' }

t.test('a provider with defaults', async t => {
  const config = loadConfig({ UPSTREAM_PROVIDERS_FILE: file(t, { providers: [base] }) })
  t.match(config.upstreamProviders, [{
    name: 'corp',
    displayName: 'corp',
    issuer: 'https://login.corp.example',
    clientId: 'codepair',
    clientAuth: 'client_secret_basic',
    clientSecret: 's3cret-value',
    privateKey: undefined,
    scopes: ['openid', 'email', 'profile'],
    provisioning: 'existing-only',
    trustMfa: false
  }])
  t.ok(Object.isFrozen(config.upstreamProviders[0]), 'frozen like the rest of the configuration')
  t.equal(config.passwordSignIn, true)
  t.same(loadConfig({}).upstreamProviders, [], 'no file, no providers')
})

t.test('several providers, every option', async t => {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const pem = join(dir(t), 'key.pem')
  writeFileSync(pem, privateKey.export({ type: 'pkcs8', format: 'pem' }))
  const jwk = { ...generateKeyPairSync('ed25519').privateKey.export({ format: 'jwk' }), kid: 'k-2' }
  const config = loadConfig({
    PASSWORD_SIGN_IN: 'false',
    UPSTREAM_PROVIDERS_FILE: file(t, {
      providers: [
        { ...base, displayName: 'Corp SSO', scopes: ['openid', 'email'], provisioning: 'create', trustMfa: true, clientAuth: 'client_secret_post' },
        { name: 'keycloak', issuer: 'http://127.0.0.1:8080/realms/x', clientId: 'cp', privateKeyFile: pem, privateKeyId: 'k-1', provisioning: 'link-by-verified-email' },
        { name: 'entra', issuer: 'https://login.microsoftonline.com/tenant/v2.0', clientId: 'cp', clientAuth: 'private_key_jwt', privateKeyJwk: jwk }
      ]
    })
  })
  t.equal(config.passwordSignIn, false)
  t.match(config.upstreamProviders, [
    { name: 'corp', displayName: 'Corp SSO', clientAuth: 'client_secret_post', scopes: ['openid', 'email'], provisioning: 'create', trustMfa: true },
    { name: 'keycloak', clientAuth: 'private_key_jwt', clientSecret: undefined, privateKey: { alg: 'ES256', kid: 'k-1', pem: /^-----BEGIN PRIVATE KEY-----/ }, provisioning: 'link-by-verified-email' },
    { name: 'entra', clientAuth: 'private_key_jwt', privateKey: { alg: 'EdDSA', kid: 'k-2' } }
  ])
})

t.test('mistakes are named', async t => {
  const cases: Array<[string, unknown, RegExp]> = [
    ['not JSON', '{"providers": [', /UPSTREAM_PROVIDERS_FILE: .*providers\.json is not valid JSON/],
    ['wrong shape', [base], /UPSTREAM_PROVIDERS_FILE: .*expected object/],
    ['unknown field', { providers: [{ ...base, clientSecrett: 'x' }] }, /providers\[0\]: Unrecognized key: "clientSecrett"/],
    ['bad name', { providers: [{ ...base, name: 'Corp SSO' }] }, /providers\[0\]\.name: must be 1 to 32 lower-case letters, digits or dashes/],
    ['http issuer elsewhere', { providers: [{ ...base, issuer: 'http://login.corp.example' }] }, /providers\[0\]\.issuer: must be https \(plain http is allowed only for 127\.0\.0\.1, localhost and \[::1\]/],
    ['not a URL', { providers: [{ ...base, issuer: 'login.corp.example' }] }, /providers\[0\]\.issuer: must be the provider's issuer URL/],
    ['issuer with a query', { providers: [{ ...base, issuer: 'https://login.corp.example/?x=1' }] }, /must not have a query or fragment/],
    ['no secret', { providers: [{ ...base, clientSecret: undefined }] }, /providers\[0\] \(corp\): clientSecret is required for client_secret_basic/],
    ['bad provisioning', { providers: [{ ...base, provisioning: 'auto' }] }, /providers\[0\]\.provisioning: must be create, link-by-verified-email or existing-only/],
    ['no openid scope', { providers: [{ ...base, scopes: ['email'] }] }, /providers\[0\] \(corp\): scopes must include openid/],
    ['two with one name', { providers: [base, base] }, /providers\[1\] \(corp\): a second provider with this name/],
    ['private_key_jwt without a key', { providers: [{ ...base, clientSecret: undefined, clientAuth: 'private_key_jwt' }] }, /private_key_jwt needs exactly one of privateKeyFile \(PKCS#8 PEM\) or privateKeyJwk/],
    ['a key that is not one', { providers: [{ ...base, clientSecret: undefined, privateKeyJwk: { kty: 'oct', k: 'AAAA' } }] }, /privateKeyJwk is not a private key/],
    ['a key file that is not there', { providers: [{ ...base, clientSecret: undefined, privateKeyFile: '/nonexistent/key.pem' }] }, /cannot read the private key in \/nonexistent\/key\.pem \(ENOENT\)/],
    ['trustMfa not a boolean', { providers: [{ ...base, trustMfa: 'yes' }] }, /providers\[0\]\.trustMfa: must be true or false/]
  ]
  for (const [what, content, expected] of cases) {
    t.match(configProblems({ UPSTREAM_PROVIDERS_FILE: file(t, content) }), expected, what)
  }
  t.match(configProblems({ UPSTREAM_PROVIDERS_FILE: '/nonexistent/providers.json' }), /UPSTREAM_PROVIDERS_FILE: cannot read \/nonexistent\/providers\.json \(ENOENT\)/)
  t.match(configProblems({ PASSWORD_SIGN_IN: 'false' }), /PASSWORD_SIGN_IN: is false but no provider is configured in UPSTREAM_PROVIDERS_FILE, so nobody could sign in/)
  t.match(configProblems({ PASSWORD_SIGN_IN: 'maybe' }), /PASSWORD_SIGN_IN: must be true or false/)
})
