// BRAND_* settings → the pages' branding, checked at start-up (README "Branding").
import { resolve } from 'node:path'
import { AA_TEXT, contrast, darkSchemeText, parseHexColour, WHITE } from './colour.js'
import { readLogo } from './logo.js'

export interface Brand {
  /** Shown in the header and every page title. */
  readonly name: string
  /** Absolute path of the logo file and its type (sniffed from its bytes); undefined = no logo. */
  readonly logo: { readonly file: string, readonly contentType: string } | undefined
  /** Buttons' colour and, where it reads well enough, links' and focus rings'. */
  readonly accent: { readonly color: string, readonly darkText: string } | undefined
  /** A help page or mailto: link shown on every page. */
  readonly supportUrl: string | undefined
}

export interface BrandEnv { BRAND_NAME?: string, BRAND_LOGO_FILE?: string, BRAND_ACCENT_COLOR?: string, BRAND_SUPPORT_URL?: string }

export function parseBrand (e: BrandEnv, problems: string[]): Brand {
  const name = e.BRAND_NAME?.trim() ?? 'codepair'
  // eslint-disable-next-line no-control-regex
  if (name.length > 60 || /[\u0000-\u001f\u007f]/.test(name)) problems.push('BRAND_NAME: must be at most 60 characters, on one line')

  let logo: Brand['logo']
  if (e.BRAND_LOGO_FILE !== undefined) {
    const file = resolve(e.BRAND_LOGO_FILE)
    try {
      logo = { file, contentType: readLogo(file).contentType }
    } catch (err) {
      problems.push(`BRAND_LOGO_FILE: ${(err as Error).message}`)
    }
  }

  let accent: Brand['accent']
  if (e.BRAND_ACCENT_COLOR !== undefined) {
    const color = e.BRAND_ACCENT_COLOR.trim().toLowerCase()
    if (parseHexColour(color) === null) {
      problems.push(`BRAND_ACCENT_COLOR: must be a colour as #rrggbb, such as #2456d6 (got "${e.BRAND_ACCENT_COLOR}")`)
    } else if (contrast(color, WHITE) < AA_TEXT) {
      // Buttons carry white text on the accent, and on a light page it is the links' colour.
      problems.push(`BRAND_ACCENT_COLOR: ${color} against white is ${contrast(color, WHITE).toFixed(2)}:1; WCAG AA needs ${AA_TEXT}:1 for the white button text and for links on a light page. Choose a darker shade`)
    } else {
      accent = { color, darkText: darkSchemeText(color) }
    }
  }

  let supportUrl: string | undefined
  if (e.BRAND_SUPPORT_URL !== undefined) {
    try {
      const u = new URL(e.BRAND_SUPPORT_URL.trim())
      if (!['https:', 'http:', 'mailto:'].includes(u.protocol)) throw new Error('scheme')
      supportUrl = u.href
    } catch {
      problems.push(`BRAND_SUPPORT_URL: must be an http(s) or mailto: URL such as https://help.example.com (got "${e.BRAND_SUPPORT_URL}")`)
    }
  }
  return { name: name === '' ? 'codepair' : name, logo, accent, supportUrl }
}
