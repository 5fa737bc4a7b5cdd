import { existsSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { chromium, type Browser, type Page } from 'playwright-core'
import { REPO_ROOT } from './cli.js'

/** Debian's Chromium (`apt-get install -y chromium`); `.ci/run` installs it when missing. */
export const CHROMIUM = process.env.COINPIPE_TEST_CHROMIUM ?? '/usr/bin/chromium'

/** Where the browser tests write their screenshots (git-ignored). */
export const SCREENSHOTS = join(REPO_ROOT, 'test-results', 'dashboard')

/** Whether the browser tests can run here; in CI a missing Chromium fails the run instead. */
export function chromiumAvailable(): boolean {
  const found = existsSync(CHROMIUM)
  if (!found && process.env.CI) throw new Error(`Chromium is required in CI but ${CHROMIUM} is missing`)
  return found
}

/**
 * Headless Chromium with no network of its own: no background requests, updates or sync, which
 * this machine's closed network would refuse at every start.
 */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  })
}

export interface PageProblems {
  /** Console errors, uncaught exceptions and CSP violations, as text. */
  readonly errors: string[]
}

/** Records everything a page does wrong: console errors, uncaught errors, CSP violations. */
export async function watchProblems(page: Page): Promise<PageProblems> {
  const problems: PageProblems = { errors: [] }
  page.on('console', (message) => {
    if (message.type() === 'error') problems.errors.push(`console: ${message.text()}`)
  })
  page.on('pageerror', (error) => problems.errors.push(`uncaught: ${error.message}`))
  await page.exposeFunction('__reportCspViolation', (text: string) => problems.errors.push(`csp: ${text}`))
  // A string, run in the page before its own scripts: this project's TypeScript has no DOM types.
  await page.addInitScript({
    content: `document.addEventListener('securitypolicyviolation', (event) =>
      window.__reportCspViolation(event.violatedDirective + ' blocked ' + event.blockedURI))`,
  })
  return problems
}

/** Saves a full-page screenshot as `test-results/dashboard/<name>.png`. */
export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true })
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true })
}
