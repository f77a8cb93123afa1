// "New user" in the admin area (docs/admin-contract.md, POST /api/admin/users/)
// through the SPA: staff create an account for someone, confirm their own
// password in the re-authentication dialog, land on the new account's page;
// the person gets the reset mail (captured by a real SMTP server), sets a
// password with its link and signs in.  A taken address shows the server's
// error under the email field; only a superuser sees the role switches.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import {
  eventually,
  launchBrowser,
  linkIn,
  login,
  startMailServer,
  startServer,
  submitLogin,
  unique,
  withPage,
} from './harness.mjs'

const PASSWORD = 'admin area test 2026'
const NEW_PASSWORD = 'a brand new passphrase 77'
const STAFF = 'sofia@example.com' // staff, not superuser
const ROOT = 'ruth@example.com' // superuser
const RESET_SUBJECT = '[Gatehouse] Reset your password'
const RESET_PATH = '/reset-password/[^/\\s]+/[^/\\s]+'
const REAUTH_MAX_AGE = 2 // seconds: every sign-in here is stale by the time the form is sent
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

describe('admin: create a user', () => {
  let mail, server, browser

  before(async () => {
    mail = await startMailServer()
    server = await startServer({ env: { ...mail.env, GATEHOUSE_REAUTH_MAX_AGE: String(REAUTH_MAX_AGE) } })
    await server.createUser(STAFF, PASSWORD, ['--staff'])
    await server.createUser(ROOT, PASSWORD, ['--superuser'])
    browser = await launchBrowser()
  })
  after(async () => {
    await browser?.close()
    await server?.stop()
    await mail?.stop()
  })

  /** Sign in as `admin`, let the sign-in go stale, open the New user form. */
  async function openForm(page, admin) {
    await login(page, server, admin, PASSWORD)
    await page.getByTestId('header-admin-link').click()
    await page.waitForURL(server.url('/admin'))
    await sleep(REAUTH_MAX_AGE * 1000 + 700)
    const button = page.getByTestId('new-user-button')
    assert.equal(await button.getAttribute('aria-expanded'), 'false')
    await button.click()
    assert.equal(await button.getAttribute('aria-expanded'), 'true')
    const form = page.getByTestId('new-user')
    await form.getByRole('heading', { name: 'New user' }).waitFor()
    await eventually(() => page.evaluate(() => document.activeElement?.id === 'new-user-email'), {
      message: 'focus in the email field',
    })
    return form
  }

  /** The server asked for the admin's password: the dialog takes it and closes. */
  async function confirmPassword(page) {
    const dialog = page.getByRole('dialog', { name: 'Confirm your password' })
    await dialog.waitFor()
    await dialog.getByLabel('Your password').fill(PASSWORD)
    await dialog.getByRole('button', { name: 'Confirm' }).click()
    await dialog.waitFor({ state: 'hidden' })
  }

  test("staff create a user in the form, pass the password dialog and land on the new user's page; the mailed link sets a password and the person signs in", async () => {
    const email = unique('newcomer')
    await withPage(browser, server, async ({ page }) => {
      const form = await openForm(page, STAFF)
      // Staff who are not superusers get no role switches.
      assert.equal(await form.getByLabel('Staff', { exact: true }).count(), 0)
      assert.equal(await form.getByLabel('Superuser', { exact: true }).count(), 0)

      await form.getByLabel('Email address').fill(email)
      await form.getByLabel('First name').fill('Nadia')
      await form.getByLabel('Last name').fill('Okafor')
      await form.getByRole('button', { name: 'Create user' }).click()
      await confirmPassword(page)

      await page.waitForURL((u) => /^\/admin\/users\/\d+$/.test(u.pathname))
      await page.getByTestId('admin-user-email').filter({ hasText: email }).waitFor()
      const notice = page.getByTestId('created-notice')
      await notice.filter({ hasText: `Account created; a link to set a password was sent to ${email}.` }).waitFor()
      assert.equal(await notice.getAttribute('role'), 'status')
      await eventually(() => notice.evaluate((el) => el === document.activeElement), {
        message: 'focus on the notice',
      })
      await page.getByText('Nadia Okafor').waitFor()
      assert.equal(await page.getByLabel('Active', { exact: true }).isChecked(), true)
      assert.equal(await page.getByLabel('Email verified', { exact: true }).isChecked(), true)
      await page
        .getByTestId('admin-user-audit')
        .getByTestId('audit-row')
        .filter({ hasText: 'admin.user.created' })
        .filter({ hasText: STAFF })
        .waitFor()
      // Said once: a reload shows the page without it.
      await page.reload()
      await page.getByTestId('admin-user-email').filter({ hasText: email }).waitFor()
      assert.equal(await page.getByTestId('created-notice').count(), 0)
    })

    // The person: the mail's link, a new password, then sign in.
    const link = linkIn(await mail.waitFor(email, RESET_SUBJECT), server.origin, RESET_PATH)
    await withPage(browser, server, async ({ page }) => {
      await page.goto(link)
      await page.getByRole('heading', { name: 'Choose a new password' }).waitFor()
      await page.getByLabel('New password', { exact: true }).fill(NEW_PASSWORD)
      await page.getByLabel('Confirm new password').fill(NEW_PASSWORD)
      await page.locator('form button[type=submit]').click()
      await page.waitForURL(server.url('/login'))
      await page.getByTestId('login-notice').filter({ hasText: 'Your password has been reset.' }).waitFor()
      await submitLogin(page, email, NEW_PASSWORD)
      await page.getByTestId('profile-email').filter({ hasText: email }).waitFor()
    })
  })

  test('a taken address, in another spelling, shows the server’s error under the email field and focus moves there', async () => {
    const taken = unique('taken')
    await server.createUser(taken, PASSWORD)
    await withPage(browser, server, async ({ page }) => {
      const form = await openForm(page, STAFF)
      let posts = 0
      page.on('request', (req) => req.method() === 'POST' && req.url().endsWith('/api/admin/users/') && posts++)
      await form.getByLabel('Email address').fill(taken.toUpperCase())
      await form.getByRole('button', { name: 'Create user' }).click()
      await confirmPassword(page) // then the form is sent again, and refused

      const error = page.locator('#new-user-email-error')
      await error.filter({ hasText: 'A user with that email address already exists.' }).waitFor()
      const input = form.getByLabel('Email address')
      assert.equal(await input.getAttribute('aria-invalid'), 'true')
      assert.match(await input.getAttribute('aria-describedby'), /\bnew-user-email-error\b/)
      await eventually(() => page.evaluate(() => document.activeElement?.id === 'new-user-email'), {
        message: 'focus back in the email field',
      })
      await form.getByRole('alert').filter({ hasText: 'Please correct the fields marked below.' }).waitFor()
      assert.equal(posts, 2, 'sent once, and once more after the password')
      assert.equal(page.url(), server.url('/admin'), 'still on the list')
    })
  })

  test('only a superuser sees the staff and superuser switches, and an account created with Staff on is staff', async () => {
    const email = unique('new-staff')
    await withPage(browser, server, async ({ page }) => {
      const form = await openForm(page, ROOT)
      const staff = form.getByLabel('Staff', { exact: true })
      const superuser = form.getByLabel('Superuser', { exact: true })
      assert.equal(await staff.isChecked(), false)
      assert.equal(await superuser.isChecked(), false)
      // Superuser implies staff, as on the user page.
      await superuser.check()
      assert.equal(await staff.isChecked(), true)
      assert.equal(await staff.isDisabled(), true)
      await superuser.uncheck()
      assert.equal(await staff.isDisabled(), false)
      assert.equal(await staff.isChecked(), true)

      await form.getByLabel('Email address').fill(email)
      await form.getByRole('button', { name: 'Create user' }).click()
      await confirmPassword(page)
      await page.getByTestId('created-notice').filter({ hasText: email }).waitFor()
      await page.getByTestId('admin-user-email').getByText('Staff', { exact: true }).waitFor()
      assert.equal(await page.getByLabel('Staff', { exact: true }).isChecked(), true)
      assert.equal(await page.getByLabel('Superuser', { exact: true }).isChecked(), false)
    })
  })

  test('cancelling the password dialog creates nobody and says how to go on', async () => {
    const email = unique('not-yet')
    await withPage(browser, server, async ({ page }) => {
      const form = await openForm(page, STAFF)
      await form.getByLabel('Email address').fill(email)
      await form.getByRole('button', { name: 'Create user' }).click()
      const dialog = page.getByRole('dialog', { name: 'Confirm your password' })
      await dialog.waitFor()
      await dialog.getByRole('button', { name: 'Cancel' }).click()
      await dialog.waitFor({ state: 'hidden' })
      await page
        .getByTestId('new-user-message')
        .filter({ hasText: 'Not created: creating an account needs your password.' })
        .waitFor()
      assert.equal(await form.getByLabel('Email address').inputValue(), email, 'what was typed is kept')
      const found = await page.evaluate(async (q) => {
        const res = await fetch(`/api/admin/users/?search=${encodeURIComponent(q)}`, {
          headers: { Accept: 'application/json' },
        })
        return (await res.json()).count
      }, email)
      assert.equal(found, 0, 'no such account')

      // Cancel closes the form and gives focus back to the button.
      await form.getByRole('button', { name: 'Cancel' }).click()
      await form.waitFor({ state: 'hidden' })
      const button = page.getByTestId('new-user-button')
      assert.equal(await button.getAttribute('aria-expanded'), 'false')
      await eventually(() => button.evaluate((el) => el === document.activeElement), { message: 'focus on New user' })
    })
  })
})
