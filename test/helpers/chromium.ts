// Debian's Chromium driven by playwright-core (never a downloaded browser), one per test
// file: skipped when missing, except with CI=true, where it fails.
import { existsSync } from 'node:fs'
import { chromium, type Browser } from 'playwright-core'
import type { Test } from 'tap'

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'

export async function launchChromium (t: Test): Promise<Browser | null> {
  if (!existsSync(CHROMIUM)) {
    if (process.env.CI === 'true') t.fail(`Chromium is required when CI=true: ${CHROMIUM} is missing (.ci/run installs it with apt-get)`)
    else await t.skip(`no Chromium at ${CHROMIUM}; apt-get install -y chromium`, () => {})
    return null
  }
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic']
  })
  t.teardown(async () => { await browser.close() })
  return browser
}
