// Own sessions and API tokens on the Account pages (docs/admin-contract.md):
// signing out another browser from the Sessions page, and an API token that
// is created in the SPA, works from outside the browser, and stops working
// the moment it is revoked.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import {
  assertNoProblems,
  launchBrowser,
  login,
  newContext,
  profileFromPage,
  startServer,
  unique,
  withPage,
} from './harness.mjs'

const PASSWORD = 'sessions and tokens 2026'

describe('account: sessions and API tokens', () => {
  let server, browser

  before(async () => {
    server = await startServer()
    browser = await launchBrowser()
  })
  after(async () => {
    await browser?.close()
    await server?.stop()
  })

  /** GET /api/users/profile/ from node (not the browser) with `Authorization: Token <key>`. */
  async function profileWithToken(key) {
    const res = await fetch(`http://127.0.0.1:${server.port}/api/users/profile/`, {
      headers: { Authorization: `Token ${key}`, Accept: 'application/json' },
    })
    return { status: res.status, body: await res.json().catch(() => null) }
  }

  test('two browsers as one user: A signs B out from the Sessions page; B is sent to sign in on its next action', async () => {
    const email = unique('kim')
    await server.createUser(email, PASSWORD)
    const a = await newContext(browser)
    const b = await newContext(browser)
    const c = await newContext(browser)
    try {
      await login(a.page, server, email, PASSWORD)
      await login(b.page, server, email, PASSWORD)
      const { page } = a

      await page.getByRole('link', { name: 'Account', exact: true }).click()
      await page.getByRole('link', { name: 'Sessions' }).click()
      await page.waitForURL(server.url('/account/sessions'))
      const rows = page.getByTestId('session')
      await rows.nth(1).waitFor()
      assert.equal(await page.title(), 'Sessions · Gatehouse')
      assert.equal(await page.getByRole('link', { name: 'Sessions' }).getAttribute('aria-current'), 'page')
      assert.equal(await rows.count(), 2)
      const current = page.locator('[data-testid=session][data-current=true]')
      assert.equal(await current.count(), 1, 'exactly one session is this device')
      await current.getByTestId('this-device').filter({ hasText: 'This device' }).waitFor()
      const other = page.locator('[data-testid=session][data-current=false]')
      assert.ok(
        (await other.getByTestId('session-device').innerText()).trim().length > 0,
        'the other session names its device',
      )
      assert.equal(await other.getByTestId('session-ip').innerText(), '127.0.0.1')
      assert.match(await other.innerText(), /Last seen/)

      // The button's accessible name says which device it signs out.
      const button = other.getByRole('button', { name: /^Sign out .*127\.0\.0\.1/ })
      await button.click()
      await page
        .getByTestId('sessions-message')
        .filter({ hasText: /^Signed out .*127\.0\.0\.1/ })
        .waitFor()
      assert.equal(await rows.count(), 1)
      await page.getByTestId('no-other-sessions').waitFor()
      assert.equal(await page.getByTestId('revoke-others').isDisabled(), true, 'nothing else to sign out')

      // B, still showing the home page, is signed out on its next action.
      await b.page.getByRole('link', { name: 'Account', exact: true }).click()
      await b.page.waitForURL((u) => u.pathname === '/login')
      assert.equal(new URL(b.page.url()).searchParams.get('next'), '/account')
      assert.equal(await b.page.getByTestId('header-email').count(), 0)
      assert.equal((await profileFromPage(b.page)).status, 401)
      // A is untouched.
      assert.equal((await profileFromPage(page)).status, 200)

      // "Sign out all other devices" ends C and keeps A.
      await login(c.page, server, email, PASSWORD)
      await page.reload()
      await rows.nth(1).waitFor()
      await page.getByTestId('revoke-others').click()
      await page.getByTestId('sessions-message').filter({ hasText: 'Signed out of all other sessions.' }).waitFor()
      assert.equal(await rows.count(), 1)
      assert.equal((await profileFromPage(c.page)).status, 401)
      assert.equal((await profileFromPage(page)).status, 200)

      for (const x of [a, b, c]) assertNoProblems(x.problems, server.origin)
    } finally {
      await Promise.all([a, b, c].map((x) => x.context.close()))
    }
  })

  test('an API token: wrong password refused, key shown once in a copy box, works with fetch, revoked -> 401', async () => {
    const email = unique('lee')
    await server.createUser(email, PASSWORD)
    await withPage(browser, server, async ({ page }) => {
      await login(page, server, email, PASSWORD)
      await page.goto(server.url('/account/tokens'))
      await page.getByTestId('no-tokens').waitFor()
      assert.equal(await page.title(), 'API tokens · Gatehouse')

      const name = page.getByLabel('Name')
      const days = page.getByLabel('Expires after (days) (optional)')
      const password = page.getByLabel('Current password')
      const create = page.getByRole('button', { name: 'Create token' })

      // Empty form: errors next to the fields, nothing sent.
      await create.click()
      await page.locator('#token_name-error').waitFor()
      assert.equal(await name.getAttribute('aria-invalid'), 'true')
      await page.waitForFunction(() => document.activeElement?.id === 'token_name')

      // A wrong password: the server's message next to the password field.
      await name.fill('backup script')
      await days.fill('30')
      await password.fill('not my password')
      await create.click()
      await page.locator('#token_password-error').filter({ hasText: 'Incorrect password.' }).waitFor()
      assert.equal(await password.inputValue(), '', 'the wrong password is cleared')
      assert.equal(await page.getByTestId('new-token').count(), 0)

      await password.fill(PASSWORD)
      await create.click()
      const box = page.getByTestId('new-token')
      await box.waitFor()
      assert.match(await box.innerText(), /you will not see it again/i)
      const key = await box.getByTestId('copy-box-value').inputValue()
      assert.match(key, /^[A-Za-z0-9]{40}$/, 'a 40-character key')
      await page.waitForFunction(() => document.activeElement?.id === 'new-token-key', null, { timeout: 2000 })
      await box.getByRole('button', { name: 'Copy' }).waitFor()

      const row = page.getByTestId('token').filter({ hasText: 'backup script' })
      await row.waitFor()
      assert.match(await row.innerText(), /Expires/)
      assert.doesNotMatch(
        await page.getByTestId('token-list').innerText(),
        new RegExp(key),
        'the list never shows the key',
      )

      // The key works from outside the browser.
      const ok = await profileWithToken(key)
      assert.equal(ok.status, 200)
      assert.equal(ok.body.email, email)

      // Shown once: after a reload the key is nowhere on the page.
      await page.reload()
      await row.waitFor()
      assert.equal(await page.getByTestId('new-token').count(), 0)
      assert.doesNotMatch(await page.locator('main').innerText(), new RegExp(key))

      await row.getByRole('button', { name: 'Revoke backup script' }).click()
      await page.getByTestId('tokens-message').filter({ hasText: 'Revoked “backup script”' }).waitFor()
      await page.getByTestId('no-tokens').waitFor()

      const refused = await profileWithToken(key)
      assert.equal(refused.status, 401)
      assert.equal(refused.body.detail, 'Invalid token.')
      // The browser session itself is unaffected.
      assert.equal((await profileFromPage(page)).status, 200)
    })
  })
})
