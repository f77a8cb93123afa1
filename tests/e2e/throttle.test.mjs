// Rate limiting as a person meets it: after too many wrong passwords the
// login form says how long to wait (from Retry-After) and holds the button.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { launchBrowser, loginError, withPage, signInButton, startServer, submitLogin } from './harness.mjs'

const EMAIL = 'gina@example.com'
const LIMIT = 3

function formatWait(seconds) {
  // Same rounding as formatWait in clients/js: up, to seconds, minutes or hours.
  const s = Math.max(1, Math.ceil(seconds))
  const unit = (n, w) => `${n} ${w}${n === 1 ? '' : 's'}`
  if (s < 60) return unit(s, 'second')
  if (s < 3600) return unit(Math.ceil(s / 60), 'minute')
  return unit(Math.ceil(s / 3600), 'hour')
}

describe('throttling', () => {
  let server, browser

  before(async () => {
    server = await startServer({ env: { GATEHOUSE_LOGIN_ACCOUNT_LIMIT: String(LIMIT), GATEHOUSE_LOGIN_WINDOW: '300' } })
    await server.createUser(EMAIL, 'the right password')
    browser = await launchBrowser()
  })
  after(async () => {
    await browser?.close()
    await server?.stop()
  })

  test('throttling shows the wait and holds the sign-in button', async () => {
    await withPage(browser, server, async ({ context, page }) => {
      await page.goto(server.url('/login'))
      let throttled = null
      for (let attempt = 1; attempt <= LIMIT + 3 && !throttled; attempt++) {
        const response = page.waitForResponse((r) => r.url().endsWith('/api/login/') && r.request().method() === 'POST')
        await submitLogin(page, EMAIL, `wrong password ${attempt}`)
        const res = await response
        if (res.status() === 429) throttled = res
        else assert.equal(res.status(), 400, `attempt ${attempt} is refused as invalid credentials`)
        await loginError(page).waitFor()
      }
      assert.ok(throttled, `no 429 after ${LIMIT + 3} wrong passwords with GATEHOUSE_LOGIN_ACCOUNT_LIMIT=${LIMIT}`)

      const retryAfter = Number(throttled.headers()['retry-after'])
      assert.ok(
        retryAfter > 0 && retryAfter <= 300,
        `Retry-After is a number of seconds within the window (got ${throttled.headers()['retry-after']})`,
      )
      const body = await throttled.json()
      assert.match(body.detail, /^Request was throttled\. Expected available in \d+ seconds?\.$/)

      const error = loginError(page)
      await error.filter({ hasText: 'Too many sign-in attempts' }).waitFor()
      const text = await error.innerText()
      assert.match(text, /Try again in \d+ (second|minute|hour)s?\./)
      // The wait shown is Retry-After's (a second may have ticked by).
      assert.ok(
        [formatWait(retryAfter), formatWait(retryAfter - 1), formatWait(retryAfter - 2)].some((w) => text.includes(w)),
        `"${text}" shows Retry-After=${retryAfter}`,
      )
      assert.equal(await signInButton(page).isDisabled(), true, 'no new attempt while throttled')
      assert.equal(page.url(), server.url('/login'))
    })
  })

  test('a busy server (503 with Retry-After) shows the wait', async () => {
    await withPage(browser, server, async ({ context, page }) => {
      await page.route('**/api/login/', (route) =>
        route.fulfill({
          status: 503,
          headers: { 'Retry-After': '7' },
          contentType: 'application/json',
          body: '{"detail":"Service temporarily unavailable, try again later."}',
        }),
      )
      await page.goto(server.url('/login'))
      await submitLogin(page, EMAIL, 'anything')
      await loginError(page).filter({ hasText: 'The server is busy right now. Try again in 7 seconds.' }).waitFor()
    })
  })
})
