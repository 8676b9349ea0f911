// Everything a page needs to speak one language: t() for the catalogue, and dates, times and
// durations through Intl so each reads the way that language writes them. Times are shown in
// UTC with the zone named: the pages run no script, so the person's own zone is unknown.
import type { TFunction } from 'i18next'
import { translator } from './catalogues.js'

export interface PageText {
  /** The BCP 47 code of the page (<html lang>). */
  lang: string
  t: TFunction
  /** "23 Nov 2026, 12:00 UTC (3 minutes ago)". */
  when: (d: Date, now: number) => string
  /** "12:05 UTC": when a pause ends. */
  time: (d: Date) => string
  /** "8 minutes". */
  minutes: (n: number) => string
  /** A scope in words for a person; unknown scopes are named as they are. */
  scope: (scope: string) => string
}

const cache = new Map<string, PageText>()

export function pageText (lang: string): PageText {
  const cached = cache.get(lang)
  if (cached !== undefined) return cached
  const t = translator(lang)
  const date = new Intl.DateTimeFormat(lang, { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', hourCycle: 'h23', timeZone: 'UTC', timeZoneName: 'short' })
  const clock = new Intl.DateTimeFormat(lang, { hour: '2-digit', minute: '2-digit', hourCycle: 'h23', timeZone: 'UTC', timeZoneName: 'short' })
  const relative = new Intl.RelativeTimeFormat(lang, { numeric: 'always' })
  const duration = new Intl.NumberFormat(lang, { style: 'unit', unit: 'minute', unitDisplay: 'long' })

  function ago (d: Date, now: number): string {
    const minutes = Math.max(0, Math.round((now - d.getTime()) / 60000))
    if (minutes === 0) return t('common.justNow')
    if (minutes < 60) return relative.format(-minutes, 'minute')
    const hours = Math.round(minutes / 60)
    return hours < 48 ? relative.format(-hours, 'hour') : relative.format(-Math.round(minutes / 1440), 'day')
  }

  function scope (s: string): string {
    // Literal keys, so the catalogue test sees each one in use.
    switch (s) {
      case 'openid': return t('scope.openid')
      case 'profile': return t('scope.profile')
      case 'email': return t('scope.email')
      case 'offline_access': return t('scope.offline_access')
      default: return t('scope.other', { scope: s })
    }
  }

  const text: PageText = {
    lang,
    t,
    when: (d, now) => t('common.when', { date: date.format(d), ago: ago(d, now) }),
    time: d => clock.format(d),
    minutes: n => duration.format(n),
    scope
  }
  cache.set(lang, text)
  return text
}
