// From a verified upstream identity to one local account: an identity already linked
// signs in to its account; otherwise the provider's `provisioning` decides —
//   existing-only           nobody new (an operator links people with `codepair user link`);
//   link-by-verified-email  link to the one account with that e-mail when the provider marks
//                           it verified (OIDC Core §5.1 email_verified), else create one;
//   create                  create an account just in time, never link by e-mail.
// An e-mail the provider has not verified never links: anyone can type any address there.
import { randomBytes, randomUUID } from 'node:crypto'
import { NO_PASSWORD } from '../accounts/password.js'
import { EventVetoedError, type Emitter, type UserSummary } from '../events/types.js'
import type { NewUser, Outbox, UserRecord } from '../oauth/stores.js'
import type { UpstreamProviderConfig } from './config.js'
import type { UpstreamIdentity } from './provider.js'

export interface ExternalIdentityRecord {
  id: string
  provider: string
  subject: string
  userId: string
  email: string | null
  createdAt: Date
  lastLoginAt: Date | null
}

export type NewExternalIdentity = Pick<ExternalIdentityRecord, 'id' | 'provider' | 'subject' | 'userId' | 'email'>

export interface IdentityStore {
  findLinked (provider: string, subject: string): Promise<{ identity: ExternalIdentityRecord, user: UserRecord } | null>
  /** Accounts whose e-mail equals `email`, ignoring case. */
  usersWithEmail (email: string): Promise<UserRecord[]>
  identitiesOf (userId: string): Promise<ExternalIdentityRecord[]>
  usernameTaken (username: string): Promise<boolean>
  /** The account and its first identity in one transaction, with the outbox. Throws on a taken username or identity. */
  createUserWithIdentity (user: NewUser, identity: Omit<NewExternalIdentity, 'userId'>, outbox: Outbox): Promise<UserRecord>
  /** Throws when (provider, subject) is already linked (isUniqueViolation). */
  link (identity: NewExternalIdentity): Promise<ExternalIdentityRecord>
  recordSignIn (id: string, email: string | null, at: Date): Promise<void>
}

export type ResolveResult =
  | { ok: true, user: UserRecord, created: boolean, linked: boolean }
  | { ok: false, reason: 'not_provisioned' | 'unverified_email' | 'ambiguous_email' | 'linked_elsewhere' | 'disabled' }
  | { ok: false, reason: 'vetoed', veto: string }

const USERNAME_MAX = 64

export function summary (u: UserRecord): UserSummary {
  return { id: u.id, username: u.username, name: u.name, email: u.email }
}

export class UpstreamAccounts {
  constructor (private readonly store: IdentityStore, private readonly events: Emitter, private readonly clock: () => number) {}

  async resolve (provider: UpstreamProviderConfig, who: UpstreamIdentity): Promise<ResolveResult> {
    const linked = await this.store.findLinked(provider.name, who.subject)
    if (linked !== null) return await this.signedIn(linked.identity.id, linked.user, who, false, false)

    if (provider.provisioning === 'existing-only') return { ok: false, reason: 'not_provisioned' }
    if (provider.provisioning === 'link-by-verified-email' && who.email !== null) {
      const owners = await this.store.usersWithEmail(who.email)
      if (owners.length > 0 && !who.emailVerified) {
        // Linking on an unconfirmed address would let anyone who types it take the account over.
        return { ok: false, reason: 'unverified_email' }
      }
      if (owners.length > 1) return { ok: false, reason: 'ambiguous_email' }
      const owner = owners[0]
      if (owner !== undefined) {
        if ((await this.store.identitiesOf(owner.id)).some(i => i.provider === provider.name)) {
          // The provider calls a different person by the same address: never merge them silently.
          return { ok: false, reason: 'linked_elsewhere' }
        }
        const identity = await this.linkOrFind({ id: randomUUID(), provider: provider.name, subject: who.subject, userId: owner.id, email: who.email })
        return await this.signedIn(identity, owner, who, false, true)
      }
    }
    return await this.create(provider, who)
  }

  private async create (provider: UpstreamProviderConfig, who: UpstreamIdentity): Promise<ResolveResult> {
    const username = await this.freeUsername(provider.name, who)
    const user: NewUser = { id: randomUUID(), username, passwordHash: NO_PASSWORD, name: who.name, email: who.email }
    const identity = { id: randomUUID(), provider: provider.name, subject: who.subject, email: who.email }
    let row: UserRecord
    try {
      row = await this.events.emit('user.created', { user: { id: user.id, username, name: user.name, email: user.email }, source: 'upstream', provider: provider.name },
        async outbox => await this.store.createUserWithIdentity(user, identity, outbox))
    } catch (err) {
      if (err instanceof EventVetoedError) return { ok: false, reason: 'vetoed', veto: err.reason }
      // The same person's first sign-in twice at once: the other request created it.
      const linked = await this.store.findLinked(provider.name, who.subject)
      if (linked === null) throw err
      return await this.signedIn(linked.identity.id, linked.user, who, false, false)
    }
    return await this.signedIn(identity.id, row, who, true, false)
  }

  private async linkOrFind (identity: NewExternalIdentity): Promise<string> {
    try {
      return (await this.store.link(identity)).id
    } catch (err) {
      const linked = await this.store.findLinked(identity.provider, identity.subject)
      if (linked === null) throw err
      return linked.identity.id
    }
  }

  private async signedIn (identityId: string, user: UserRecord, who: UpstreamIdentity, created: boolean, linked: boolean): Promise<ResolveResult> {
    if (!user.enabled) return { ok: false, reason: 'disabled' }
    await this.store.recordSignIn(identityId, who.email, new Date(this.clock()))
    return { ok: true, user, created, linked }
  }

  /** A readable, unused username: the provider's preferred_username, else the e-mail's local part, else provider-sub. */
  private async freeUsername (provider: string, who: UpstreamIdentity): Promise<string> {
    const base = usernameFrom(who.preferredUsername) ?? usernameFrom(who.email?.split('@')[0] ?? null) ?? usernameFrom(`${provider}-${who.subject}`) ?? `${provider}-user`
    // A taken name is someone else's account: never reuse it (that would merge two people).
    const candidates = [base, `${base}-${provider}`]
    for (const c of candidates) {
      const name = c.slice(0, USERNAME_MAX)
      if (!await this.store.usernameTaken(name)) return name
    }
    // Bounded: a random suffix collides with negligible probability.
    for (let i = 0; i < 5; i++) {
      const name = `${base.slice(0, USERNAME_MAX - 9)}-${randomBytes(4).toString('hex')}`
      if (!await this.store.usernameTaken(name)) return name
    }
    throw new Error('could not find a free username')
  }
}

/** Lower-case letters, digits, dots, dashes, underscores and @ (src/admin/users.ts), starting with a letter or digit. */
export function usernameFrom (raw: string | null): string | null {
  if (raw === null) return null
  const s = raw.normalize('NFKD').replace(/[\u0300-\u036f]/g, '').toLowerCase().replace(/[^a-z0-9._@-]+/g, '-').replace(/^[^a-z0-9]+/, '').slice(0, USERNAME_MAX)
  return s === '' ? null : s
}
