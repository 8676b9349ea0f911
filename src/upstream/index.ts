// Upstream sign-in (login providers): the configured providers, and the accounts their
// people map to. Routes: src/routes/upstream-sign-in.ts.
import type { Config } from '../config.js'
import type { Emitter } from '../events/types.js'
import { UpstreamAccounts, type IdentityStore } from './accounts.js'
import { amrShowsMfa, type UpstreamAuthentication } from './mfa.js'
import { UpstreamProvider, type UpstreamIdentity } from './provider.js'

export { UpstreamAccounts } from './accounts.js'
export { UpstreamProvider } from './provider.js'
export type { UpstreamAuthentication } from './mfa.js'

/** Discovery documents are fetched again after this long (a provider's endpoints rarely move; its keys are fetched by kid). */
const DISCOVERY_TTL_MS = 60 * 60 * 1000
/** Per request to a provider: a person waits this long at most before seeing "not answering". */
const REQUEST_TIMEOUT_SECONDS = 10

export function callbackPath (provider: string): string {
  return `/login/upstream/${provider}/callback`
}

export class UpstreamSignIn {
  readonly providers: ReadonlyMap<string, UpstreamProvider>
  readonly accounts: UpstreamAccounts

  constructor (config: Pick<Config, 'issuer' | 'upstreamProviders'>, identities: IdentityStore, events: Emitter, clock: () => number, log: { warn: (obj: object, msg?: string) => void }) {
    this.providers = new Map(config.upstreamProviders.map(p => [p.name, new UpstreamProvider(p, {
      redirectUri: `${config.issuer}${callbackPath(p.name)}`,
      timeoutSeconds: REQUEST_TIMEOUT_SECONDS,
      discoveryTtlMs: DISCOVERY_TTL_MS,
      clock,
      log
    })]))
    this.accounts = new UpstreamAccounts(identities, events, clock)
  }

  /** The sign-in page's buttons, in configuration order. */
  buttons (): Array<{ name: string, displayName: string, href: string }> {
    return [...this.providers.values()].map(p => ({ name: p.name, displayName: p.config.displayName, href: `/login/upstream/${p.name}` }))
  }

  authentication (provider: UpstreamProvider, who: UpstreamIdentity): UpstreamAuthentication {
    return { provider: provider.name, amr: who.amr, acr: who.acr, authTime: who.authTime, mfa: provider.config.trustMfa && amrShowsMfa(who.amr) }
  }
}
