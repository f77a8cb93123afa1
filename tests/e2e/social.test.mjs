// Social login through the real SPA (docs/social-contract.md): "Continue with
// <Provider>" on the login page, the provider's own login page, back to
// /auth/<provider>/callback and into the app; connecting and disconnecting
// providers on the Account page; a cancelled login; the second step for an
// account with an authenticator app (docs/mfa-contract.md, MFA_SOCIAL on by
// default); and the social UI hiding
// itself on a server without social login.  The providers are the stand-ins
// of tests/providers (a real OpenID provider, npm oidc-provider, and a GitHub
// stand-in), real HTTP servers on 127.0.0.1 started here.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import {
  launchBrowser,
  login,
  profileFromPage,
  sessionCookie,
  setUpTotp,
  startProviders,
  startServer,
  timeStep,
  totp,
  withPage,
} from './harness.mjs'

const OIDC = 'acme' // a generic OIDC provider (GATEHOUSE_OIDC_PROVIDERS)
const OIDC_LABEL = 'Acme ID'
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

describe('social login', () => {
  let providers, oidc, github, server, browser

  before(async () => {
    providers = await startProviders({ oidcName: OIDC, oidcLabel: OIDC_LABEL })
    ;({ oidc, github } = providers)
    server = await startServer({ env: providers.env })
    providers.allowOrigin(server.origin)
    browser = await launchBrowser()
  })
  after(async () => {
    await browser?.close()
    await server?.stop()
    await providers?.stop()
  })

  const continueWith = (page, label) => page.getByRole('link', { name: `Continue with ${label}` })

  /** On the provider's login page (both stand-ins show the same form): sign in as `account`. */
  async function providerLogin(page, provider, account, decision = 'Authorize') {
    await page.waitForURL((u) => u.origin === provider.url)
    await page.getByLabel('Account').fill(account)
    await page.getByRole('button', { name: decision }).click()
  }

  test(`"Continue with ${OIDC_LABEL}" (OpenID Connect): the provider's login form, back, home shows the user`, async () => {
    await withPage(browser, server, async ({ context, page }) => {
      await page.goto(server.url('/login'))
      const social = page.getByTestId('social-login')
      await social.waitFor()
      const texts = (await social.getByRole('link').allInnerTexts()).map((t) => t.trim()).sort()
      assert.deepEqual(texts, [`Continue with ${OIDC_LABEL}`, 'Continue with GitHub'].sort())
      assert.equal(await continueWith(page, OIDC_LABEL).getAttribute('href'), `/api/social/${OIDC}/authorize/`)

      // Hold the SPA's POST a moment to see the callback page say what it does.
      await page.route(`**/api/social/${OIDC}/`, async (route) => {
        await sleep(400)
        await route.continue()
      })
      await continueWith(page, OIDC_LABEL).click()
      await page.waitForURL((u) => u.origin === oidc.url)
      assert.equal(await page.title(), 'Sign in (test OpenID provider)')
      await providerLogin(page, oidc, 'alice')

      await page.waitForURL((u) => u.pathname === `/auth/${OIDC}/callback`)
      await page.getByRole('heading', { name: `Logging in with ${OIDC_LABEL}…` }).waitFor()
      await page.getByTestId('profile-email').filter({ hasText: 'alice@oidc.test' }).waitFor()
      assert.equal(page.url(), server.url('/'))
      assert.equal(await page.getByTestId('header-email').innerText(), 'alice@oidc.test')
      assert.ok(await sessionCookie(context, server.origin), 'a session cookie')
      assert.equal((await profileFromPage(page)).body.email, 'alice@oidc.test')
    })
  })

  test('"Continue with GitHub" from a deep link: back on that page, signed in; the account lists GitHub, connects and disconnects more', async () => {
    oidc.addAccount('carol', { email: 'carol@oidc.test', email_verified: true, given_name: 'Carol' })
    await withPage(browser, server, async ({ page }) => {
      await page.goto(server.url('/account/sessions'))
      await page.waitForURL((u) => u.pathname === '/login')
      const link = continueWith(page, 'GitHub')
      assert.equal(await link.getAttribute('href'), '/api/social/github/authorize/?next=%2Faccount%2Fsessions')
      await link.click()
      await providerLogin(page, github, 'octocat')
      await page.waitForURL(server.url('/account/sessions'))
      await page.getByTestId('account-email').filter({ hasText: 'octocat@github.test' }).waitFor()
      await page.locator('[data-testid=session][data-current=true]').waitFor()

      // Connected accounts: GitHub is there; connect Acme ID too.
      await page.getByRole('link', { name: 'Profile' }).click()
      const card = page.getByTestId('connected-accounts')
      await card.getByTestId('identity').filter({ hasText: 'GitHub' }).waitFor()
      assert.equal(await card.getByTestId('identity').count(), 1)
      await card.getByRole('button', { name: `Connect ${OIDC_LABEL}` }).click()
      await providerLogin(page, oidc, 'carol')
      await page.waitForURL(server.url('/account'))
      await page
        .getByTestId('page-notice')
        .filter({ hasText: `${OIDC_LABEL} is now connected to your account.` })
        .waitFor()
      await card.getByTestId('identity').nth(1).waitFor()
      assert.equal(await page.getByTestId('account-email').innerText(), 'octocat@github.test', 'still the same account')
      assert.equal(await card.getByRole('button', { name: /^Connect / }).count(), 0, 'nothing left to connect')

      // Disconnect Acme ID; then GitHub, the only way left to sign in, is refused with the server's reason.
      await card.getByRole('button', { name: `Disconnect ${OIDC_LABEL}` }).click()
      await card
        .getByTestId('connected-message')
        .filter({ hasText: `${OIDC_LABEL} is no longer connected` })
        .waitFor()
      assert.equal(await card.getByTestId('identity').count(), 1)
      await card.getByRole('button', { name: `Connect ${OIDC_LABEL}` }).waitFor()
      await card.getByRole('button', { name: 'Disconnect GitHub' }).click()
      await card
        .getByTestId('connected-message')
        .filter({ hasText: 'This is your only way to sign in: set a password first (use Forgot password).' })
        .waitFor()
      assert.equal(await card.getByTestId('connected-message').getAttribute('role'), 'alert')
      assert.equal(await card.getByTestId('identity').count(), 1)
    })
  })

  test("the Account page's Connect button starts with a CSRF-checked POST and connects GitHub to a password account", async () => {
    const email = 'connect.button@example.com'
    await server.createUser(email, 'a password to connect 2026')
    github.addUser({
      login: 'connector',
      name: 'Con Nector',
      email: null,
      emails: [{ email: 'connector@github.test', primary: true, verified: true, visibility: 'private' }],
    })
    await withPage(browser, server, async ({ page }) => {
      await login(page, server, email, 'a password to connect 2026')
      await page.goto(server.url('/account'))
      const card = page.getByTestId('connected-accounts')
      await card.getByTestId('no-identities').waitFor()
      const started = page.waitForRequest((req) => req.url().endsWith('/api/social/github/connect/'))
      await card.getByRole('button', { name: 'Connect GitHub' }).click()
      const req = await started
      assert.equal(req.method(), 'POST')
      assert.ok(req.headers()['x-csrftoken'], 'the POST carries the CSRF header')
      await providerLogin(page, github, 'connector')
      await page.waitForURL(server.url('/account'))
      await page.getByTestId('page-notice').filter({ hasText: 'GitHub is now connected to your account.' }).waitFor()
      await card.getByTestId('identity').filter({ hasText: 'GitHub' }).waitFor()
      assert.equal(await page.getByTestId('account-email').innerText(), email, 'still the password account')
    })
  })

  test('cancelling at the provider shows why, with a way back to sign in', async () => {
    await withPage(browser, server, async ({ page }) => {
      await page.goto(server.url('/login'))
      await continueWith(page, 'GitHub').click()
      await providerLogin(page, github, '', 'Cancel')
      await page.waitForURL((u) => u.pathname === '/auth/github/callback')
      await page.getByRole('heading', { name: "Couldn't sign in with GitHub" }).waitFor()
      const error = page.getByTestId('social-error')
      assert.match(await error.innerText(), /GitHub sign-in was cancelled or refused \(access_denied\)/) // the server's words
      assert.equal((await profileFromPage(page)).status, 401, 'no session')
      await page.getByRole('link', { name: 'Back to sign in' }).click()
      await page.waitForURL(server.url('/login'))
      await page.getByTestId('social-login').waitFor()
    })
  })

  test('an account with an authenticator app: the provider is not enough, the second step follows, then the page asked for', async () => {
    oidc.addAccount('dora', { email: 'dora@oidc.test', email_verified: true, given_name: 'Dora' })
    await withPage(browser, server, async ({ page }) => {
      await page.goto(server.url('/login'))
      await continueWith(page, OIDC_LABEL).click()
      await providerLogin(page, oidc, 'dora')
      await page.getByTestId('profile-email').filter({ hasText: 'dora@oidc.test' }).waitFor()
      await page.goto(server.url('/account/security'))
      const { secret, step } = await setUpTotp(page)
      await page.getByRole('button', { name: 'Log out' }).click()
      await page.waitForURL((u) => u.pathname === '/login')

      await page.goto(server.url('/account/sessions'))
      await page.waitForURL((u) => u.pathname === '/login')
      await continueWith(page, OIDC_LABEL).click() // the provider remembers dora: straight back
      await page.waitForURL((u) => u.pathname === '/login/verify')
      assert.equal(new URL(page.url()).searchParams.get('next'), '/account/sessions')
      assert.equal((await profileFromPage(page)).status, 401, 'no session from the provider alone')
      const code = page.getByLabel('Code from your authenticator app')
      await code.fill(totp(secret, Math.max(timeStep(), step + 1)))
      await page.getByRole('button', { name: 'Verify' }).click()
      await page.waitForURL(server.url('/account/sessions'))
      await page.locator('[data-testid=session][data-current=true]').waitFor()
      assert.equal((await profileFromPage(page)).body.email, 'dora@oidc.test')
    })
  })

  test('a server without social login (404) or with no providers shows no social buttons and no Connected accounts', async () => {
    const email = 'password.only@example.com'
    await server.createUser(email, 'a password only 2026')
    for (const answer of [
      { status: 404, body: { detail: 'Not found.' } },
      { status: 200, body: [] },
    ]) {
      await withPage(browser, server, async ({ page }) => {
        await page.route('**/api/social/providers/', (route) =>
          route.fulfill({ status: answer.status, contentType: 'application/json', body: JSON.stringify(answer.body) }),
        )
        await page.route('**/api/social/identities/', (route) =>
          route.fulfill({
            status: answer.status === 404 ? 404 : 200,
            contentType: 'application/json',
            body: answer.status === 404 ? '{"detail":"Not found."}' : '[]',
          }),
        )
        await page.goto(server.url('/login'))
        await page.getByLabel('Email address').waitFor()
        await sleep(300) // the providers request has been answered
        assert.equal(await page.getByTestId('social-login').count(), 0)
        assert.equal(await page.getByRole('link', { name: /^Continue with/ }).count(), 0)

        await login(page, server, email, 'a password only 2026')
        await page.goto(server.url('/account'))
        await page.getByTestId('account-profile').waitFor()
        await sleep(300)
        assert.equal(await page.getByTestId('connected-accounts').count(), 0)
      })
    }
  })
})
