// Route guards and session state across reloads and tabs: deep links survive
// the detour through login, a session that ends elsewhere shows up here.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { eventually, launchBrowser, login, withPage, profileFromPage, startServer, submitLogin } from './harness.mjs'

const PASSWORD = 'navigation test password'
const DEEP = '/?view=profile&tab=security#details'

describe('navigation and session state', () => {
  let server, browser

  before(async () => {
    server = await startServer()
    await Promise.all(
      ['dana@example.com', 'erin@example.com', 'finn@example.com'].map((e) => server.createUser(e, PASSWORD)),
    )
    browser = await launchBrowser()
  })
  after(async () => {
    await browser?.close()
    await server?.stop()
  })

  test('deep link to a protected page goes to login, then lands on the deep link', async () => {
    await withPage(browser, server, async ({ context, page }) => {
      await page.goto(server.url(DEEP))
      await page.waitForURL((u) => u.pathname === '/login')
      assert.equal(new URL(page.url()).searchParams.get('next'), DEEP)
      await page.getByTestId('login-notice').filter({ hasText: 'Sign in to continue' }).waitFor()

      await submitLogin(page, 'dana@example.com', PASSWORD)
      await page.getByTestId('profile-email').filter({ hasText: 'dana@example.com' }).waitFor()
      assert.equal(page.url(), server.url(DEEP))
    })
  })

  test('two tabs: signing in and out in one tab is followed by the other', async () => {
    await withPage(browser, server, async ({ context, page: a }) => {
      const b = await context.newPage()
      await b.goto(server.url('/login'))

      // Sign in in tab A: tab B, sitting on the login page, goes home.
      await login(a, server, 'erin@example.com', PASSWORD)
      await b.waitForURL(server.url('/'))
      await b.getByTestId('profile-email').filter({ hasText: 'erin@example.com' }).waitFor()
      assert.equal(await b.getByTestId('header-email').innerText(), 'erin@example.com')

      // Log out in tab A: tab B shows signed out without being touched.
      await a.bringToFront()
      await a.getByRole('button', { name: 'Log out' }).click()
      await a.waitForURL(server.url('/login'))
      await b.waitForURL(server.url('/login'))
      await b.getByRole('heading', { name: 'Sign in' }).waitFor()
      assert.equal(await b.getByTestId('header-email').count(), 0, 'tab B no longer shows the email')
      assert.equal(await b.getByTestId('profile-email').count(), 0)
      assert.equal((await profileFromPage(b)).status, 401)

      // And B's next navigation to a protected page is refused.
      await b.goto(server.url('/'))
      await b.waitForURL(server.url('/login'))
    })
  })

  test('a session that ended on the server sends the next call to login, and back after signing in', async () => {
    await withPage(browser, server, async ({ context, page }) => {
      await login(page, server, 'finn@example.com', PASSWORD)
      await page.goto(server.url(DEEP))
      await page.getByTestId('profile-email').waitFor()

      // The session disappears behind the SPA's back (expired, revoked, other device).
      await context.clearCookies({ name: 'sessionid' })
      assert.equal(
        await page.evaluate(() => localStorage.getItem('gatehouse.authenticated')),
        'true',
        'the tab still believes it is signed in',
      )

      await page.reload() // the profile is refetched: 401
      await page.waitForURL((u) => u.pathname === '/login')
      assert.equal(new URL(page.url()).searchParams.get('next'), DEEP)
      await eventually(
        async () => (await page.evaluate(() => localStorage.getItem('gatehouse.authenticated'))) === null,
        { message: 'auth flag cleared' },
      )
      assert.equal(await page.getByTestId('header-email').count(), 0)

      await submitLogin(page, 'finn@example.com', PASSWORD)
      await page.getByTestId('profile-email').filter({ hasText: 'finn@example.com' }).waitFor()
      assert.equal(page.url(), server.url(DEEP))
    })
  })

  test('/logout asks before signing out, and signs out when confirmed', async () => {
    await withPage(browser, server, async ({ context, page }) => {
      await login(page, server, 'dana@example.com', PASSWORD)
      await page.goto(server.url('/logout'))
      await page.getByRole('heading', { name: 'Sign out?' }).waitFor()
      assert.equal((await profileFromPage(page)).status, 200, 'visiting /logout alone does not end the session')

      await page.getByRole('button', { name: 'Sign out' }).click()
      await page.waitForURL(server.url('/login'))
      assert.equal((await profileFromPage(page)).status, 401)

      await page.goto(server.url('/logout'))
      await page.getByRole('heading', { name: "You're signed out" }).waitFor()
    })
  })
})
