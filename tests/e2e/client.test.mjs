// The SPA on @gatehouse/client (clients/js), as a browser runs it: the auth
// change travels between tabs on BroadcastChannel('gatehouse-auth') with no
// secret in it, a tab follows another without a reload (after a logout, and
// after a 401 that tells one tab the session is gone), and a CSRF failure is
// refreshed and retried once.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { launchBrowser, login, passwordInput, profileFromPage, startServer, submitLogin, withPage } from './harness.mjs'

const PASSWORD = 'client package password'
const GINA = 'gina@example.com'
const HUGO = 'hugo@example.com'
const IRIS = 'iris@example.com'

/** Mark the page so a reload (which would drop the mark) can be told apart from the SPA's own navigation. */
const markPage = (page) => page.evaluate(() => (window.__notReloaded = true))
const stillSamePage = (page) => page.evaluate(() => window.__notReloaded === true)

/** Collect, in the page, what crosses BroadcastChannel('gatehouse-auth'). */
const listenToChannel = (page) =>
  page.evaluate(() => {
    window.__authMessages = []
    const ch = new BroadcastChannel('gatehouse-auth')
    ch.onmessage = (e) => window.__authMessages.push(e.data)
  })
const channelMessages = (page) => page.evaluate(() => window.__authMessages)

describe('the SPA on the JS client', () => {
  let server, browser

  before(async () => {
    server = await startServer()
    await Promise.all([GINA, HUGO, IRIS].map((e) => server.createUser(e, PASSWORD)))
    browser = await launchBrowser()
  })
  after(async () => {
    await browser?.close()
    await server?.stop()
  })

  test('sign out in one tab: the other, on a signed-in page, goes to the login page without a reload', async () => {
    await withPage(browser, server, async ({ context, page: a }) => {
      await login(a, server, GINA, PASSWORD)
      const b = await context.newPage()
      await b.goto(server.url('/account'))
      await b.getByRole('heading', { name: 'Your account' }).waitFor()
      await markPage(b)
      await listenToChannel(b)

      await a.bringToFront()
      await a.getByRole('button', { name: 'Log out' }).click()
      await a.waitForURL(server.url('/login'))

      await b.waitForURL((u) => u.pathname === '/login' && u.searchParams.get('next') === '/account')
      await b.getByRole('heading', { name: 'Sign in' }).waitFor()
      assert.equal(await stillSamePage(b), true, 'tab B followed without a reload')
      assert.equal(await b.getByTestId('header-email').count(), 0)
      // what crossed between the tabs: the state, nothing else (no email, no token, no cookie)
      assert.deepEqual(await channelMessages(b), [{ state: 'signed-out' }])
    })
  })

  test('a 401 in one tab (the session ended on the server) signs the other tab out too', async () => {
    await withPage(browser, server, async ({ context, page: a }) => {
      await login(a, server, HUGO, PASSWORD)
      await a.goto(server.url('/account'))
      await a.getByRole('heading', { name: 'Your account' }).waitFor()
      const b = await context.newPage()
      await b.goto(server.url('/account/tokens'))
      await b.getByRole('heading', { name: 'API tokens' }).waitFor()
      await markPage(b)

      // the session goes away behind both tabs' backs (revoked, expired)
      await context.clearCookies({ name: 'sessionid' })
      // tab A's next call is a 401: A goes to login, and tells B
      await a.bringToFront()
      await a.getByTestId('account-tab-sessions').click()
      await a.waitForURL((u) => u.pathname === '/login')
      await b.waitForURL((u) => u.pathname === '/login' && u.searchParams.get('next') === '/account/tokens')
      assert.equal(await stillSamePage(b), true, 'tab B followed without a reload')
      assert.equal((await profileFromPage(b)).status, 401)
    })
  })

  test('sign in in one tab: the other, on the login page, goes home', async () => {
    await withPage(browser, server, async ({ context, page: a }) => {
      const b = await context.newPage()
      await b.goto(server.url('/login'))
      await b.getByRole('heading', { name: 'Sign in' }).waitFor()
      await markPage(b)
      await listenToChannel(b)
      await login(a, server, IRIS, PASSWORD)
      await b.waitForURL(server.url('/'))
      await b.getByTestId('profile-email').filter({ hasText: IRIS }).waitFor()
      assert.equal(await stillSamePage(b), true)
      assert.deepEqual(await channelMessages(b), [{ state: 'signed-in' }])
    })
  })

  test('a CSRF failure is refreshed and retried once; a second one is shown, not retried again', async () => {
    await withPage(browser, server, async ({ page }) => {
      await page.goto(server.url('/login'))
      await page.waitForFunction(() => document.cookie.includes('csrftoken='))
      const seen = []
      page.on('response', (res) => {
        const u = new URL(res.url())
        if (u.pathname.startsWith('/api/')) seen.push(`${res.request().method()} ${u.pathname} ${res.status()}`)
      })

      // the first login request carries a token that does not match the cookie
      let spoiled = 0
      const spoil = (limit) => async (route) => {
        const headers = route.request().headers()
        if (route.request().method() === 'POST' && spoiled < limit) {
          spoiled++
          headers['x-csrftoken'] = 'Q'.repeat(32)
        }
        await route.continue({ headers })
      }
      await page.route('**/api/login/', spoil(1))
      await submitLogin(page, GINA, PASSWORD)
      await page.getByTestId('profile-email').filter({ hasText: GINA }).waitFor()
      assert.deepEqual(seen.slice(0, 3), [
        'POST /api/login/ 403',
        'GET /api/login-set-cookie/ 200',
        'POST /api/login/ 200',
      ])
      await page.unroute('**/api/login/')

      // every attempt spoiled: one retry, then the error is on the form
      await page.getByRole('button', { name: 'Log out' }).click()
      await page.waitForURL(server.url('/login'))
      seen.length = 0
      spoiled = 0
      await page.route('**/api/login/', spoil(Infinity))
      await submitLogin(page, GINA, PASSWORD)
      await page
        .getByTestId('login-error')
        .filter({ hasText: 'Your security token expired. Reload the page and try again.' })
        .waitFor()
      assert.deepEqual(
        seen.filter((s) => s.includes('/api/login')),
        ['POST /api/login/ 403', 'GET /api/login-set-cookie/ 200', 'POST /api/login/ 403'],
      )
      assert.equal(spoiled, 2)
      assert.equal(await passwordInput(page).inputValue(), PASSWORD, 'a CSRF failure is not a wrong password')
    })
  })
})
