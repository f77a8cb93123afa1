// The admin area (docs/admin-contract.md) through the SPA: a superuser
// deactivates a user who is signed in elsewhere; staff without superuser
// rights see roles read-only; members see no Admin link and a not-allowed
// page; the users list searches and pages; the audit log filters by event.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import {
  assertNoProblems,
  eventually,
  launchBrowser,
  login,
  loginError,
  newContext,
  profileFromPage,
  startServer,
  submitLogin,
  withPage,
} from './harness.mjs'

const PASSWORD = 'admin area test 2026'
const ROOT = 'root@example.com' // superuser
const STAFF = 'staff@example.com' // staff, not superuser
const MEMBER = 'member@example.com'
const VICTIM = 'victor@example.com'
const PAGED = 27 // pager-NN@example.com: more than one page of 25

describe('admin area', () => {
  let server, browser

  before(async () => {
    server = await startServer()
    await server.createUser(ROOT, PASSWORD, ['--superuser'])
    await server.createUser(STAFF, PASSWORD, ['--staff'])
    await server.createUser(MEMBER, PASSWORD)
    await server.createUser(VICTIM, PASSWORD)
    const names = Array.from({ length: PAGED }, (_, i) => `pager-${String(i + 1).padStart(2, '0')}@example.com`)
    for (let i = 0; i < names.length; i += 6)
      await Promise.all(names.slice(i, i + 6).map((e) => server.createUser(e, PASSWORD)))
    browser = await launchBrowser()
  })
  after(async () => {
    await browser?.close()
    await server?.stop()
  })

  /** From the users list, search for `email` and open its page. */
  async function openUser(page, email) {
    await page.getByTestId('header-admin-link').click()
    await page.waitForURL(server.url('/admin'))
    await page.getByTestId('user-search').fill(email)
    await page.getByRole('button', { name: 'Search', exact: true }).click()
    await page.waitForURL((u) => u.searchParams.get('search') === email)
    const link = page.getByTestId('user-link').filter({ hasText: email })
    await page.getByTestId('pagination-summary').filter({ hasText: 'Showing 1–1 of 1 users' }).waitFor()
    await link.click()
    await page.waitForURL((u) => /^\/admin\/users\/\d+$/.test(u.pathname))
    await page.getByTestId('admin-user-email').filter({ hasText: email }).waitFor()
  }

  test('a superuser deactivates a user who is signed in elsewhere; that user is signed out on their next action', async () => {
    const admin = await newContext(browser)
    const victim = await newContext(browser)
    try {
      await login(victim.page, server, VICTIM, PASSWORD)
      await login(admin.page, server, ROOT, PASSWORD)
      const { page } = admin
      await openUser(page, VICTIM)
      assert.equal(await page.title(), 'User · Admin · Gatehouse')

      // Their one session is listed; a superuser may change every flag.
      await page.getByTestId('admin-session').first().waitFor()
      assert.equal(await page.getByTestId('admin-session').count(), 1)
      for (const label of ['Active', 'Email verified', 'Staff', 'Superuser']) {
        assert.equal(
          await page.getByLabel(label, { exact: true }).isEnabled(),
          true,
          `${label} is editable for a superuser`,
        )
      }
      const active = page.getByLabel('Active', { exact: true })
      assert.equal(await active.isChecked(), true)
      const save = page.getByTestId('save-flags')
      assert.equal(await save.isDisabled(), true, 'nothing to save yet')

      await active.uncheck()
      await page.getByText(`Saving will sign ${VICTIM} out everywhere`).waitFor()
      await save.click()
      await page
        .getByTestId('flags-message')
        .filter({ hasText: `${VICTIM} is deactivated` })
        .waitFor()
      assert.equal(await active.isChecked(), false)
      await page.getByTestId('admin-user-email').getByText('Inactive').waitFor()
      await page.getByTestId('admin-sessions').getByText('Not signed in anywhere.').waitFor()
      assert.equal(await page.getByTestId('send-reset').isDisabled(), true, 'no reset mail for an inactive account')
      // The change is in their history, with who made it.
      await page
        .getByTestId('admin-user-audit')
        .getByTestId('audit-row')
        .filter({ hasText: 'admin.user.updated' })
        .filter({ hasText: ROOT })
        .filter({ hasText: 'is_active → no' })
        .waitFor()

      // The user's next action finds the session gone, and they cannot sign in again.
      await victim.page.getByRole('link', { name: 'Account', exact: true }).click()
      await victim.page.waitForURL((u) => u.pathname === '/login')
      assert.equal((await profileFromPage(victim.page)).status, 401)
      await submitLogin(victim.page, VICTIM, PASSWORD)
      await loginError(victim.page).filter({ hasText: "That email and password don't match" }).waitFor()

      // Reactivated: they can sign in again.
      await active.check()
      await save.click()
      await page
        .getByTestId('flags-message')
        .filter({ hasText: /^Saved\.$/ })
        .waitFor()
      await submitLogin(victim.page, VICTIM, PASSWORD)
      await victim.page.waitForURL(server.url('/account'))

      assertNoProblems(admin.problems, server.origin)
      assertNoProblems(victim.problems, server.origin)
    } finally {
      await admin.context.close()
      await victim.context.close()
    }
  })

  test('members see no Admin link, and /admin shows a not-allowed page (the API says 403 too)', async () => {
    await withPage(browser, server, async ({ page }) => {
      await login(page, server, MEMBER, PASSWORD)
      await page.getByTestId('header-account-link').waitFor()
      assert.equal(await page.getByTestId('header-admin-link').count(), 0)
      assert.equal(await page.getByRole('link', { name: 'Admin' }).count(), 0)

      for (const path of ['/admin', '/admin/audit', '/admin/users/1']) {
        await page.goto(server.url(path))
        const forbidden = page.getByTestId('forbidden')
        await forbidden.getByRole('heading', { name: "You don't have access to this page" }).waitFor()
        assert.equal(page.url(), server.url(path), 'the address stays')
        assert.equal(await page.title(), 'Not allowed · Gatehouse')
        assert.equal(await page.getByTestId('users-table').count(), 0)
      }
      const api = await page.evaluate(async () => {
        const res = await fetch('/api/admin/users/', { headers: { Accept: 'application/json' } })
        return { status: res.status, body: await res.json() }
      })
      assert.deepEqual(api, { status: 403, body: { detail: 'You do not have permission to perform this action.' } })
    })

    // Signed out: /admin goes to the login page first, then back to /admin.
    await withPage(browser, server, async ({ page }) => {
      await page.goto(server.url('/admin/audit'))
      await page.waitForURL((u) => u.pathname === '/login')
      assert.equal(new URL(page.url()).searchParams.get('next'), '/admin/audit')
      await submitLogin(page, STAFF, PASSWORD)
      await page.waitForURL(server.url('/admin/audit'))
      await page.getByRole('heading', { name: 'Audit log' }).waitFor()
    })
  })

  test("staff (not superuser): search and pages, roles read-only, a superuser's account not editable, audit filter; losing staff status shows the server's 403", async () => {
    await withPage(browser, server, async ({ page }) => {
      await login(page, server, STAFF, PASSWORD)

      // Users list: 25 a page, Next / Previous, search narrows it.
      await page.getByTestId('header-admin-link').click()
      await page.waitForURL(server.url('/admin'))
      assert.equal(await page.getByTestId('header-admin-link').getAttribute('aria-current'), 'page')
      const total = 4 + PAGED
      await page
        .getByTestId('pagination-summary')
        .filter({ hasText: `Showing 1–25 of ${total} users` })
        .waitFor()
      assert.equal(await page.getByTestId('user-row').count(), 25)
      await page.getByRole('link', { name: 'Next page' }).click()
      await page.waitForURL((u) => u.searchParams.get('page') === '2')
      await page
        .getByTestId('pagination-summary')
        .filter({ hasText: `Showing 26–${total} of ${total} users` })
        .waitFor()
      assert.equal(await page.getByTestId('user-row').count(), total - 25)
      await page.goBack()
      await page
        .getByTestId('pagination-summary')
        .filter({ hasText: `Showing 1–25 of ${total} users` })
        .waitFor()
      await page.getByTestId('user-search').fill('PAGER-1') // case-insensitive, part of the address
      await page.getByTestId('pagination-summary').filter({ hasText: 'Showing 1–10 of 10 users' }).waitFor()
      const emails = await page.getByTestId('user-link').allInnerTexts()
      assert.ok(
        emails.every((e) => e.startsWith('pager-1')),
        emails.join(),
      )
      await page.getByTestId('user-search').fill('nobody-has-this')
      await page.getByTestId('no-users').waitFor()

      // An ordinary user: active/verified editable, staff/superuser read-only.
      await openUser(page, MEMBER)
      assert.equal(await page.getByLabel('Active', { exact: true }).isEnabled(), true)
      assert.equal(await page.getByLabel('Email verified', { exact: true }).isEnabled(), true)
      assert.equal(await page.getByLabel('Staff', { exact: true }).count(), 0)
      await page.getByTestId('readonly-roles').waitFor()
      await page.getByText('Only a superuser can grant or remove staff or superuser status.').waitFor()
      await page.getByTestId('send-reset').click()
      await page.getByTestId('reset-message').filter({ hasText: 'Password reset e-mail sent.' }).waitFor()

      // A superuser's account: nothing editable, and the server agrees (403).
      await openUser(page, ROOT)
      await page.getByText("This is a superuser's account: only a superuser can change it.").waitFor()
      assert.equal(await page.getByLabel('Active', { exact: true }).isDisabled(), true)
      const forced = await page.evaluate(async () => {
        const csrf = document.cookie.match(/csrftoken=([^;]+)/)[1]
        const res = await fetch(location.pathname.replace('/admin/', '/api/admin/') + '/', {
          method: 'PATCH',
          headers: { 'Content-Type': 'application/json', 'X-CSRFToken': csrf },
          body: JSON.stringify({ is_staff: false }),
        })
        return res.status
      })
      assert.equal(forced, 403)

      // Audit log: filter by event.
      await page.getByRole('link', { name: 'Audit log', exact: true }).click()
      await page.waitForURL(server.url('/admin/audit'))
      await page.getByTestId('audit-row').first().waitFor()
      await page.getByTestId('audit-event').selectOption('admin.password_reset.sent')
      await page.waitForURL((u) => u.searchParams.get('event') === 'admin.password_reset.sent')
      await page.getByTestId('pagination-summary').filter({ hasText: 'Showing 1–1 of 1 events' }).waitFor()
      const row = page.getByTestId('audit-row')
      assert.equal(await row.getAttribute('data-event'), 'admin.password_reset.sent')
      assert.match(
        await row.innerText(),
        new RegExp(`${MEMBER}[\\s\\S]*${STAFF}`),
        'who it concerned and who did it, by email',
      )
      await page.getByTestId('audit-event').selectOption('login.*')
      await page.waitForURL((u) => u.searchParams.get('event') === 'login.*')
      await page.locator('[data-testid=audit-row][data-event^="login."]').first().waitFor()
      const events = await page.getByTestId('audit-row').evaluateAll((rows) => rows.map((r) => r.dataset.event))
      assert.ok(events.length > 0 && events.every((e) => e.startsWith('login.')), events.join())

      // Staff status taken away meanwhile (by the superuser, elsewhere): the
      // next admin request is refused and the server's words are shown.
      await withPage(browser, server, async ({ page: root }) => {
        await login(root, server, ROOT, PASSWORD)
        await openUser(root, STAFF)
        await root.getByLabel('Staff', { exact: true }).uncheck()
        await root.getByTestId('save-flags').click()
        await root
          .getByTestId('flags-message')
          .filter({ hasText: /^Saved\.$/ })
          .waitFor()
      })
      await page.getByRole('link', { name: 'Users', exact: true }).click()
      await page
        .getByTestId('users-error')
        .filter({ hasText: 'You do not have permission to perform this action.' })
        .waitFor()
      await page.reload()
      await page.getByTestId('forbidden').waitFor()
      assert.equal(await page.getByTestId('header-admin-link').count(), 0)
    })
  })
})

describe('admin re-authentication', () => {
  const REAUTH_MAX_AGE = 2 // seconds: the sign-in is stale by the time the admin saves
  const SUPER = 'rachel@example.com'
  const TARGET = 'tomas@example.com'
  let server, browser

  before(async () => {
    server = await startServer({ env: { GATEHOUSE_REAUTH_MAX_AGE: String(REAUTH_MAX_AGE) } })
    await server.createUser(SUPER, PASSWORD, ['--superuser'])
    await server.createUser(TARGET, PASSWORD)
    browser = await launchBrowser()
  })
  after(async () => {
    await browser?.close()
    await server?.stop()
  })

  test('granting staff after the sign-in went stale asks for the password in a dialog, then saves', async () => {
    await withPage(browser, server, async ({ page }) => {
      await login(page, server, SUPER, PASSWORD)
      await page.getByTestId('header-admin-link').click()
      await page.getByTestId('user-search').fill(TARGET)
      await page.getByRole('button', { name: 'Search', exact: true }).click()
      await page.getByTestId('pagination-summary').filter({ hasText: 'Showing 1–1 of 1 users' }).waitFor()
      await page.getByTestId('user-link').filter({ hasText: TARGET }).click()
      await page.getByTestId('admin-user-email').filter({ hasText: TARGET }).waitFor()
      await new Promise((r) => setTimeout(r, REAUTH_MAX_AGE * 1000 + 700))

      const staff = page.getByLabel('Staff', { exact: true })
      await staff.check()
      await page.getByTestId('save-flags').click()

      // The dialog: named, modal, focus on its labelled password field.
      const dialog = page.getByRole('dialog', { name: 'Confirm your password' })
      await dialog.waitFor()
      const password = dialog.getByLabel('Your password')
      await eventually(() => page.evaluate(() => document.activeElement?.id === 'reauth-password'), {
        message: 'focus in the password field',
      })

      // A wrong password: the error is next to the field, the dialog stays.
      await password.fill('not my password 1')
      await dialog.getByRole('button', { name: 'Confirm' }).click()
      await dialog.locator('#reauth-password-error').filter({ hasText: 'Incorrect password.' }).waitFor()
      assert.equal(await password.getAttribute('aria-invalid'), 'true')
      assert.match(await password.getAttribute('aria-describedby'), /\breauth-password-error\b/)
      assert.equal(await staff.isChecked(), true, 'the pending change is kept')

      await password.fill(PASSWORD)
      await dialog.getByRole('button', { name: 'Confirm' }).click()
      await dialog.waitFor({ state: 'hidden' })
      await page
        .getByTestId('flags-message')
        .filter({ hasText: /^Saved\.$/ })
        .waitFor()
      await page.getByTestId('admin-user-email').getByText('Staff').waitFor()
      const api = await page.evaluate(async (email) => {
        const res = await fetch(`/api/admin/users/?search=${encodeURIComponent(email)}`, {
          headers: { Accept: 'application/json' },
        })
        return (await res.json()).results[0].is_staff
      }, TARGET)
      assert.equal(api, true, 'the server has them as staff')
    })
  })
})
