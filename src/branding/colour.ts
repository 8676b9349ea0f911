// Accent colours an operator chooses, kept readable: WCAG 2.1 contrast (SC 1.4.3, 4.5:1 for
// text) for white text on the accent (buttons) and for the accent as text in each colour scheme.

/** The dark page background Chromium, Firefox and Safari use for `Canvas` in dark mode. */
export const DARK_CANVAS = '#121212'
export const WHITE = '#ffffff'
export const AA_TEXT = 4.5

type Rgb = [number, number, number]

export function parseHexColour (value: string): Rgb | null {
  const m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(value.trim())
  if (m === null) return null
  return [parseInt(m[1] ?? '', 16), parseInt(m[2] ?? '', 16), parseInt(m[3] ?? '', 16)]
}

const hex = (rgb: Rgb) => `#${rgb.map(c => Math.round(c).toString(16).padStart(2, '0')).join('')}`

/** WCAG 2.1 relative luminance. */
function luminance ([r, g, b]: Rgb): number {
  const lin = (c: number) => { const s = c / 255; return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4 }
  return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b)
}

/** WCAG 2.1 contrast ratio, 1 to 21. */
export function contrast (a: string, b: string): number {
  const [la, lb] = [luminance(parseHexColour(a) ?? [0, 0, 0]), luminance(parseHexColour(b) ?? [0, 0, 0])]
  return (Math.max(la, lb) + 0.05) / (Math.min(la, lb) + 0.05)
}

/**
 * The accent as text on the dark background: mixed towards white, in small steps, until it reads
 * at 4.5:1 (a dark accent that suits a light page is unreadable as text on a dark one).
 */
export function darkSchemeText (accent: string): string {
  const rgb = parseHexColour(accent)
  if (rgb === null) throw new Error(`not a #rrggbb colour: ${accent}`)
  for (let step = 0; step <= 20; step++) {
    const mixed = hex(rgb.map(c => c + (255 - c) * step / 20) as Rgb)
    if (contrast(mixed, DARK_CANVAS) >= AA_TEXT) return mixed
  }
  return WHITE
}
