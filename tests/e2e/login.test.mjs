// Signing in and out through the real SPA: the happy path, the errors a
// person can meet on the login form, and what the browser's cookies look like.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import {
  emailInput,
  launchBrowser,
  login,
  loginError,
  withPage,
  passwordInput,
  profileFromPage,
  sessionCookie,
  signInButton,
  startServer,
  submitLogin,
} from './harness.mjs'

const PASSWORD = 'correct horse battery staple'
const ALICE = 'alice@example.com'
const BOB = 'bob@example.com'
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

describe('login page', () => {
  let server, browser

  before(async () => {
    server = await startServer()
    await server.createUser(ALICE, PASSWORD)
    await server.createUser(BOB, PASSWORD)
    browser = await launchBrowser()
  })
  after(async () => {
    await browser?.close()
    await server?.stop()
  })

  test('login happy path: home shows the email, reload stays signed in, logout returns to login and the profile is 401', async () => {
    await withPage(browser, server, async ({ context, page }) => {
      await page.goto(server.url('/'))
      await page.waitForURL(server.url('/login'))
      assert.equal(await page.title(), 'Sign in · Gatehouse')

      // Hold the login request a moment to see the button disabled meanwhile.
      await page.route('**/api/login/', async (route) => {
        await sleep(500)
        await route.continue()
      })
      await emailInput(page).fill(ALICE)
      await passwordInput(page).fill(PASSWORD)
      await signInButton(page).click()
      const button = page.locator('form button[type=submit]')
      assert.equal(await button.isDisabled(), true, 'submit button is disabled while signing in')
      assert.equal(await button.getAttribute('aria-busy'), 'true')
      assert.match(await button.innerText(), /Signing in/)

      await page.getByTestId('profile-email').filter({ hasText: ALICE }).waitFor()
      await page.unroute('**/api/login/')
      assert.equal(page.url(), server.url('/'))
      assert.equal(await page.getByTestId('header-email').innerText(), ALICE)
      assert.equal(await page.evaluate(() => localStorage.getItem('gatehouse.authenticated')), 'true')

      await page.reload()
      await page.getByTestId('profile-email').filter({ hasText: ALICE }).waitFor()
      assert.equal(page.url(), server.url('/'))
      assert.equal(await page.getByTestId('header-email').innerText(), ALICE)

      await page.getByRole('button', { name: 'Log out' }).click()
      await page.waitForURL(server.url('/login'))
      await page.getByTestId('login-notice').filter({ hasText: 'You have been signed out.' }).waitFor()
      assert.equal((await profileFromPage(page)).status, 401)
      assert.equal(await page.evaluate(() => localStorage.getItem('gatehouse.authenticated')), null)
      assert.equal(await sessionCookie(context, server.origin), null, 'sessionid is gone from the browser')
      assert.equal(await page.getByRole('button', { name: 'Log out' }).count(), 0)

      // The protected page is closed again.
      await page.goto(server.url('/'))
      await page.waitForURL(server.url('/login'))
    })
  })

  test('document.cookie contains csrftoken but never sessionid', async () => {
    await withPage(browser, server, async ({ context, page }) => {
      await page.goto(server.url('/login'))
      // The login page fetches a CSRF cookie up front.
      await page.waitForFunction(() => document.cookie.includes('csrftoken='))
      const before = await page.evaluate(() => document.cookie)
      assert.doesNotMatch(before, /sessionid/)

      await login(page, server, BOB, PASSWORD)
      const cookies = await page.evaluate(() => document.cookie)
      assert.match(cookies, /(^|; )csrftoken=[A-Za-z0-9]{32}(;|$)/)
      assert.doesNotMatch(cookies, /sessionid/)

      // ...although the browser does hold it, HttpOnly.
      const session = await sessionCookie(context, server.origin)
      assert.ok(session, 'the browser holds a sessionid cookie')
      assert.equal(session.httpOnly, true)
      assert.equal(session.sameSite, 'Lax')
      const csrf = (await context.cookies(server.origin)).find((c) => c.name === 'csrftoken')
      assert.equal(csrf.httpOnly, false)
      assert.notEqual(before.match(/csrftoken=([^;]+)/)[1], csrf.value, 'login rotates the CSRF token')

      // Signed-in users who open the login page are sent home.
      await page.goto(server.url('/login'))
      await page.waitForURL(server.url('/'))
      await page.getByTestId('profile-email').filter({ hasText: BOB }).waitFor()
    })
  })

  test('an unsafe request without a csrftoken cookie first fetches one', async () => {
    await withPage(browser, server, async ({ context, page }) => {
      await login(page, server, ALICE, PASSWORD)
      await context.clearCookies({ name: 'csrftoken' })
      const calls = []
      page.on(
        'request',
        (req) => req.url().includes('/api/') && calls.push(`${req.method()} ${new URL(req.url()).pathname}`),
      )
      page.on('response', (res) => res.url().endsWith('/api/logout/') && calls.push(`${res.status()} /api/logout/`))

      await page.getByRole('button', { name: 'Log out' }).click()
      await page.waitForURL(server.url('/login'))
      assert.deepEqual(calls.slice(0, 3), ['GET /api/login-set-cookie/', 'POST /api/logout/', '200 /api/logout/'])
      assert.equal((await profileFromPage(page)).status, 401)
    })
  })

  test('wrong password shows the error next to the form and does not navigate', async () => {
    await withPage(browser, server, async ({ context, page }) => {
      await page.goto(server.url('/login'))
      await submitLogin(page, ALICE, 'not the password')
      const error = loginError(page)
      await error.waitFor()
      assert.match(await error.innerText(), /email and password don't match/)
      assert.equal(await error.getAttribute('role'), 'alert')
      assert.equal(
        await page.locator('.auth-card [data-testid=login-error]').count(),
        1,
        'the error is in the sign-in card',
      )
      assert.equal(page.url(), server.url('/login'))
      assert.equal(await emailInput(page).inputValue(), ALICE, 'the email is kept')
      assert.equal(await passwordInput(page).inputValue(), '', 'the password is cleared')
      await page.waitForFunction(() => document.activeElement?.id === 'password') // ready to retype
      assert.equal(await signInButton(page).isEnabled(), true)
      assert.equal(await page.evaluate(() => localStorage.getItem('gatehouse.authenticated')), null)
      assert.equal((await profileFromPage(page)).status, 401)
    })
  })

  test('empty fields get an error next to each field and no request is sent', async () => {
    await withPage(browser, server, async ({ context, page }) => {
      let loginRequests = 0
      page.on('request', (req) => req.url().includes('/api/login/') && loginRequests++)
      await page.goto(server.url('/login'))
      await signInButton(page).click()
      await page.getByText('Enter your email address.').waitFor()
      await page.getByText('Enter your password.').waitFor()
      const email = emailInput(page)
      assert.equal(await email.getAttribute('aria-invalid'), 'true')
      assert.equal(await email.getAttribute('aria-describedby'), 'email-error')
      assert.equal(await page.locator('#email-error').innerText(), 'Enter your email address.')
      assert.equal(await page.evaluate(() => document.activeElement?.id), 'email', 'focus moves to the first bad field')
      assert.equal(loginRequests, 0)
    })
  })

  test('field errors from the server (DRF style) are shown next to their fields', async () => {
    await withPage(browser, server, async ({ context, page }) => {
      await page.route('**/api/login/', (route) =>
        route.fulfill({
          status: 400,
          contentType: 'application/json',
          body: JSON.stringify({ email: ['Enter a valid email address.'] }),
        }),
      )
      await page.goto(server.url('/login'))
      await submitLogin(page, 'carol@example.com', 'whatever')
      await page.locator('#email-error').filter({ hasText: 'Enter a valid email address.' }).waitFor()
      assert.equal(await emailInput(page).getAttribute('aria-invalid'), 'true')
      assert.equal(page.url(), server.url('/login'))
    })
  })

  test('a network failure says so', async () => {
    await withPage(browser, server, async ({ context, page }) => {
      await page.goto(server.url('/login'))
      await page.waitForFunction(() => document.cookie.includes('csrftoken='))
      await page.route('**/api/login/', (route) => route.abort('internetdisconnected'))
      await submitLogin(page, ALICE, PASSWORD)
      await loginError(page).filter({ hasText: "Can't reach the server" }).waitFor()
      assert.equal(page.url(), server.url('/login'))
      assert.equal(await signInButton(page).isEnabled(), true)
    })
  })

  test('logging out while the server is unreachable says so and keeps the user signed in', async () => {
    await withPage(browser, server, async ({ page }) => {
      await login(page, server, ALICE, PASSWORD)
      await page.route('**/api/logout/', (route) => route.abort('internetdisconnected'))
      await page.getByRole('button', { name: 'Log out' }).click()
      await page
        .getByTestId('page-notice')
        .filter({ hasText: "You are still signed in. Can't reach the server" })
        .waitFor()
      assert.equal(page.url(), server.url('/'))
      assert.equal((await profileFromPage(page)).status, 200)
    })
  })

  test('next is honoured only for same-origin paths', async () => {
    for (const next of ['https://evil.test/phish', '//evil.test/phish', '/\\evil.test/phish']) {
      await withPage(browser, server, async ({ context, page }) => {
        await page.goto(server.url('/login?next=' + encodeURIComponent(next)))
        await submitLogin(page, ALICE, PASSWORD)
        await page.getByTestId('profile-email').filter({ hasText: ALICE }).waitFor()
        assert.equal(page.url(), server.url('/'), `next=${next} must not leave the app`)
      })
    }
  })

  test('unknown paths show the not-found page', async () => {
    await withPage(browser, server, async ({ context, page }) => {
      const res = await page.goto(server.url('/no/such/page'))
      assert.equal(res.status(), 200, 'history-mode fallback serves index.html')
      await page.getByRole('heading', { name: 'Page not found' }).waitFor()
      assert.equal(await page.title(), 'Page not found · Gatehouse')
      assert.equal(await page.getByRole('link', { name: 'Log in' }).count(), 1, 'the header offers to log in')
    })
  })
})
