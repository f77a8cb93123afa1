// Accounts by email through the real SPA (docs/accounts-contract.md): sign
// up and confirm, password reset, password change.  gatehouse sends its mail
// over SMTP to a real SMTP server started here (npm smtp-server); the tests
// read the links from the text part of what it captured, as a person would.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import {
  assertNoProblems,
  emailInput,
  launchBrowser,
  linkIn,
  login,
  loginError,
  newContext,
  passwordInput,
  profileFromPage,
  sessionCookie,
  startMailServer,
  startServer,
  submitLogin,
  unique,
  withPage,
} from './harness.mjs'

const PRODUCT = 'Gatehouse'
const SUBJECT = {
  confirm: `[${PRODUCT}] Confirm your email address`,
  taken: `[${PRODUCT}] Someone tried to sign up with your address`,
  reset: `[${PRODUCT}] Reset your password`,
  changed: `[${PRODUCT}] Your password was changed`,
}
const CONFIRM_PATH = '/confirm-email/[a-z0-9]{40}'
const RESET_PATH = '/reset-password/[^/\\s]+/[^/\\s]+'
const RESEND_DETAIL = 'If this address has an unconfirmed account, a new confirmation e-mail is on its way.'
const PASSWORD = 'a sturdy passphrase 42'
const NEW_PASSWORD = 'another sturdy passphrase 43'
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

const submitButton = (page) => page.locator('form button[type=submit]')

describe('accounts by email', () => {
  let mail, server, browser

  before(async () => {
    mail = await startMailServer()
    server = await startServer({ env: mail.env })
    browser = await launchBrowser()
  })
  after(async () => {
    await browser?.close()
    await server?.stop()
    await mail?.stop()
  })

  test('sign up: field errors, check your email, no login before confirming, resend, confirm, log in', async () => {
    const email = unique('grace')
    await withPage(browser, server, async ({ page }) => {
      await page.goto(server.url('/login'))
      await page.getByRole('link', { name: 'Create an account' }).click()
      await page.waitForURL(server.url('/signup'))
      assert.equal(await page.title(), 'Create an account · Gatehouse')
      const password = passwordInput(page)
      assert.match(
        await password.getAttribute('aria-describedby'),
        /\bpassword-hint\b/,
        'the password rules are tied to the field',
      )
      assert.match(await page.locator('#password-hint').innerText(), /at least 8 characters/i)

      // The server's password rules, next to the password field.
      await emailInput(page).fill(unique('short'))
      await password.fill('abc')
      await submitButton(page).click()
      await page
        .locator('#password-error')
        .filter({ hasText: 'This password is too short. It must contain at least 8 characters.' })
        .waitFor()
      assert.equal(await password.getAttribute('aria-invalid'), 'true')
      assert.equal(await page.evaluate(() => document.activeElement?.id), 'password', 'focus moves to the bad field')
      assert.equal(page.url(), server.url('/signup'))

      // Every field the server complains about gets its message next to it.
      await page.route('**/api/signup/', (route) =>
        route.fulfill({
          status: 400,
          contentType: 'application/json',
          body: JSON.stringify({
            email: ['Enter a valid email address.'],
            password: ['This password is too common.', 'This password is entirely numeric.'],
            first_name: ['Ensure this field has no more than 150 characters.'],
            last_name: ['Ensure this field has no more than 150 characters.'],
          }),
        }),
      )
      await password.fill('12345678')
      await submitButton(page).click()
      await page.locator('#email-error').filter({ hasText: 'Enter a valid email address.' }).waitFor()
      assert.equal(
        await page.locator('#password-error').innerText(),
        'This password is too common. This password is entirely numeric.',
      )
      assert.equal(
        await page.locator('#first_name-error').innerText(),
        'Ensure this field has no more than 150 characters.',
      )
      assert.equal(
        await page.locator('#last_name-error').innerText(),
        'Ensure this field has no more than 150 characters.',
      )
      assert.equal(await page.getByLabel('First name (optional)').getAttribute('aria-describedby'), 'first_name-error')
      await page.unroute('**/api/signup/')

      // The real thing; the button is disabled while the request runs.
      await emailInput(page).fill(email)
      await password.fill(PASSWORD)
      await page.getByLabel('First name (optional)').fill('Grace')
      await page.getByLabel('Last name (optional)').fill('Hopper')
      await page.route('**/api/signup/', async (route) => {
        await sleep(400)
        await route.continue()
      })
      await submitButton(page).click()
      assert.equal(await submitButton(page).isDisabled(), true, 'disabled while submitting')
      assert.match(await submitButton(page).innerText(), /Creating your account/)
      await page.waitForURL(server.url('/signup/done'))
      await page.unroute('**/api/signup/')
      await page.getByRole('heading', { name: 'Check your email' }).waitFor()
      await page.getByTestId('signup-done-text').filter({ hasText: email }).waitFor()

      const first = await mail.waitFor(email, SUBJECT.confirm)
      assert.ok(first.html, 'the mail has an HTML part too')
      const link1 = linkIn(first, server.origin, CONFIRM_PATH)

      // "Resend the link" on the check-your-email page.
      await page.getByRole('button', { name: 'Resend the link' }).click()
      await page.getByTestId('resend-result').filter({ hasText: RESEND_DETAIL }).waitFor()
      const link2 = linkIn(await mail.waitFor(email, SUBJECT.confirm, { count: 2 }), server.origin, CONFIRM_PATH)
      assert.notEqual(link2, link1, 'a resend carries a new key')

      // Not confirmed yet: the right password is refused, with an offer to resend.
      await page.goto(server.url('/login'))
      await submitLogin(page, email, PASSWORD)
      await loginError(page).filter({ hasText: 'E-mail is not verified.' }).waitFor()
      assert.equal(page.url(), server.url('/login'))
      assert.equal((await profileFromPage(page)).status, 401)
      await page.getByRole('button', { name: 'Resend confirmation e-mail' }).click()
      await page.getByTestId('login-resend-result').filter({ hasText: RESEND_DETAIL }).waitFor()
      const link3 = linkIn(await mail.waitFor(email, SUBJECT.confirm, { count: 3 }), server.origin, CONFIRM_PATH)

      // A wrong password says nothing about the account's state.
      await submitLogin(page, email, 'not the passphrase')
      await loginError(page).filter({ hasText: "That email and password don't match" }).waitFor()
      assert.equal(await page.getByRole('button', { name: 'Resend confirmation e-mail' }).count(), 0)

      // The link from the newest mail confirms the address.
      await page.goto(link3)
      await page.getByRole('heading', { name: 'Email confirmed' }).waitFor()
      await page.getByTestId('confirm-result').waitFor()
      await page.getByRole('link', { name: 'Sign in', exact: true }).click()
      await page.waitForURL(server.url('/login'))
      await page.getByTestId('login-notice').filter({ hasText: 'Your email address is confirmed.' }).waitFor()
      await submitLogin(page, email, PASSWORD)
      await page.getByTestId('profile-email').filter({ hasText: email }).waitFor()
      assert.equal(page.url(), server.url('/'))
      assert.equal(await page.getByTestId('header-email').innerText(), email)
      await page.getByRole('heading', { name: 'Welcome back, Grace' }).waitFor()
      const profile = await profileFromPage(page)
      assert.equal(profile.status, 200)
      assert.equal(profile.body.email_verified, true)
      assert.equal(profile.body.last_name, 'Hopper')

      // A used link is refused, with a way to ask for a new one.
      await page.goto(link3)
      await page.getByTestId('confirm-error').filter({ hasText: 'Invalid or expired confirmation link.' }).waitFor()
      await page.getByRole('button', { name: 'Send me a new link' }).waitFor()
    })
  })

  test('signing up with an address that has an account looks the same; its owner gets a warning mail', async () => {
    const owner = unique('owner')
    await server.createUser(owner, PASSWORD)
    await withPage(browser, server, async ({ page }) => {
      await page.goto(server.url('/signup'))
      await emailInput(page).fill(owner)
      await passwordInput(page).fill(NEW_PASSWORD)
      await submitButton(page).click()
      await page.waitForURL(server.url('/signup/done'))
      await page.getByTestId('signup-done-text').filter({ hasText: owner }).waitFor()
      const warning = await mail.waitFor(owner, SUBJECT.taken)
      linkIn(warning, server.origin, '/login')
      linkIn(warning, server.origin, '/forgot-password')
      assert.equal(mail.to(owner, SUBJECT.confirm).length, 0)
    })
  })

  test('forgot password: the link from the mail sets a new password; the old one fails, the new one works', async () => {
    const email = unique('henry')
    await server.createUser(email, PASSWORD)
    let link
    await withPage(browser, server, async ({ page }) => {
      await page.goto(server.url('/login'))
      await page.getByRole('link', { name: 'Forgot password?' }).click()
      await page.waitForURL(server.url('/forgot-password'))
      assert.equal(await page.title(), 'Forgot password · Gatehouse')
      await emailInput(page).fill(email)
      await page.getByRole('button', { name: 'Send reset link' }).click()
      await page.getByTestId('reset-requested').filter({ hasText: email }).waitFor()
      link = linkIn(await mail.waitFor(email, SUBJECT.reset), server.origin, RESET_PATH)

      await page.goto(link)
      await page.getByRole('heading', { name: 'Choose a new password' }).waitFor()
      const newPassword = page.getByLabel('New password', { exact: true })
      const confirm = page.getByLabel('Confirm new password')
      let posts = 0
      page.on('request', (req) => req.url().includes('/api/password/reset/confirm/') && posts++)

      // The two must agree; checked before anything is sent.
      await newPassword.fill(NEW_PASSWORD)
      await confirm.fill(NEW_PASSWORD + '!')
      await submitButton(page).click()
      await page.locator('#confirm_password-error').filter({ hasText: "The two passwords don't match." }).waitFor()
      assert.equal(posts, 0)

      // The server's rules, next to the new password.
      await newPassword.fill('abc')
      await confirm.fill('abc')
      await submitButton(page).click()
      await page.locator('#new_password-error').filter({ hasText: 'This password is too short.' }).waitFor()
      assert.equal(await newPassword.getAttribute('aria-invalid'), 'true')

      await newPassword.fill(NEW_PASSWORD)
      await confirm.fill(NEW_PASSWORD)
      await submitButton(page).click()
      await page.waitForURL(server.url('/login'))
      await page.getByTestId('login-notice').filter({ hasText: 'Your password has been reset.' }).waitFor()
      linkIn(await mail.waitFor(email, SUBJECT.changed), server.origin, '/forgot-password')

      await submitLogin(page, email, PASSWORD)
      await loginError(page).filter({ hasText: "That email and password don't match" }).waitFor()
      await submitLogin(page, email, NEW_PASSWORD)
      await page.getByTestId('profile-email').filter({ hasText: email }).waitFor()
    })

    // The link works once; a used one says so and offers a new one.
    await withPage(browser, server, async ({ page }) => {
      await page.goto(link)
      await page.getByLabel('New password', { exact: true }).fill('yet another passphrase 44')
      await page.getByLabel('Confirm new password').fill('yet another passphrase 44')
      await submitButton(page).click()
      await page.getByTestId('reset-error').filter({ hasText: 'Invalid or expired reset link.' }).waitFor()
      await page.getByRole('link', { name: 'Get a new reset link' }).click()
      await page.waitForURL(server.url('/forgot-password'))
    })
    // (the password is still the one set through the link)
    await withPage(browser, server, async ({ page }) => login(page, server, email, NEW_PASSWORD))
  })

  test('the reset link leaves the address bar at once, the page sends no Referer, and the reset still works', async () => {
    const email = unique('jonas')
    await server.createUser(email, PASSWORD)
    await withPage(browser, server, async ({ page }) => {
      await page.goto(server.url('/forgot-password'))
      await emailInput(page).fill(email)
      await page.getByRole('button', { name: 'Send reset link' }).click()
      await page.getByTestId('reset-requested').filter({ hasText: email }).waitFor()
      const link = linkIn(await mail.waitFor(email, SUBJECT.reset), server.origin, RESET_PATH)
      const [uid, token] = new URL(link).pathname.split('/').slice(2)
      assert.ok(uid && token && token.length > 10, `uid and token in ${link}`)

      await page.goto(link)
      await page.getByRole('heading', { name: 'Choose a new password' }).waitFor()
      // every request the page makes from here on (the page's own assets came
      // before; the server's Referrer-Policy keeps those same-origin)
      const referers = []
      page.on('request', (req) => referers.push([req.url(), req.headers().referer || '']))
      const href = await page.evaluate(() => location.href)
      assert.ok(!href.includes(token) && !href.includes(uid), `the address bar holds no token: ${href}`)
      assert.equal(href, server.url('/reset-password'))
      assert.equal(await page.evaluate(() => document.querySelector('meta[name="referrer"]')?.content), 'no-referrer')

      await page.getByLabel('New password', { exact: true }).fill(NEW_PASSWORD)
      await page.getByLabel('Confirm new password').fill(NEW_PASSWORD)
      await submitButton(page).click()
      await page.waitForURL(server.url('/login'))
      await page.getByTestId('login-notice').filter({ hasText: 'Your password has been reset.' }).waitFor()
      const post = referers.find(([url]) => url.includes('/api/password/reset/confirm/'))
      assert.ok(post, 'the reset was posted')
      for (const [url, referer] of referers) assert.ok(!referer.includes(token), `${url} was sent Referer ${referer}`)
      assert.equal(post[1], '', 'no Referer on the reset request')

      await submitLogin(page, email, NEW_PASSWORD)
      await page.getByTestId('profile-email').filter({ hasText: email }).waitFor()
    })
  })

  test('change password on the account page: still signed in here, another browser signed in as the same user is signed out', async () => {
    const email = unique('iris')
    await server.createUser(email, PASSWORD)
    const a = await newContext(browser)
    const b = await newContext(browser)
    try {
      await login(a.page, server, email, PASSWORD)
      await login(b.page, server, email, PASSWORD)
      const { page } = a
      const keyBefore = (await sessionCookie(a.context, server.origin)).value

      await page.getByRole('link', { name: 'Account', exact: true }).click()
      await page.waitForURL(server.url('/account'))
      assert.equal(await page.title(), 'Your account · Gatehouse')
      await page.getByTestId('account-email').filter({ hasText: email }).waitFor()
      await page.getByTestId('email-status').filter({ hasText: 'Confirmed' }).waitFor()

      const current = page.getByLabel('Current password')
      const fresh = page.getByLabel('New password', { exact: true })
      const again = page.getByLabel('Confirm new password')

      // A wrong current password: the server's message next to that field.
      await current.fill('not my password')
      await fresh.fill(NEW_PASSWORD)
      await again.fill(NEW_PASSWORD)
      await submitButton(page).click()
      await page
        .locator('#old_password-error')
        .filter({ hasText: 'Your old password was entered incorrectly. Please enter it again.' })
        .waitFor()
      assert.equal(await current.getAttribute('aria-invalid'), 'true')
      await page.waitForFunction(() => document.activeElement?.id === 'old_password')

      // The right one; the button is disabled meanwhile.
      await current.fill(PASSWORD)
      await page.route('**/api/password/change/', async (route) => {
        await sleep(400)
        await route.continue()
      })
      await submitButton(page).click()
      assert.equal(await submitButton(page).isDisabled(), true)
      await page.getByTestId('password-changed').waitFor()
      await page.unroute('**/api/password/change/')
      assert.equal(await current.inputValue(), '', 'the form is cleared')
      assert.equal(page.url(), server.url('/account'))
      linkIn(await mail.waitFor(email, SUBJECT.changed), server.origin, '/forgot-password')

      // Still signed in here, under a new session key; the profile loads.
      const keyAfter = (await sessionCookie(a.context, server.origin))?.value
      assert.ok(keyAfter, 'still holds a session cookie')
      assert.notEqual(keyAfter, keyBefore, 'the session key was rotated')
      assert.equal((await profileFromPage(page)).status, 200)
      await page.reload()
      await page.getByTestId('account-email').filter({ hasText: email }).waitFor()

      // The other browser: its next action finds the session gone.
      await b.page.getByRole('link', { name: 'Account', exact: true }).click()
      await b.page.waitForURL((u) => u.pathname === '/login')
      assert.equal(new URL(b.page.url()).searchParams.get('next'), '/account')
      assert.equal(await b.page.getByTestId('header-email').count(), 0)
      assert.equal((await profileFromPage(b.page)).status, 401)
      await submitLogin(b.page, email, PASSWORD)
      await loginError(b.page).filter({ hasText: "That email and password don't match" }).waitFor()
      await submitLogin(b.page, email, NEW_PASSWORD)
      await b.page.waitForURL(server.url('/account'))
      await b.page.getByTestId('account-email').filter({ hasText: email }).waitFor()

      // The rotated CSRF token works for the next unsafe request here: log out.
      await page.getByRole('button', { name: 'Log out' }).click()
      await page.waitForURL(server.url('/login'))
      await page.getByTestId('login-notice').filter({ hasText: 'You have been signed out.' }).waitFor()
      assert.equal((await profileFromPage(page)).status, 401)

      assertNoProblems(a.problems, server.origin)
      assertNoProblems(b.problems, server.origin)
    } finally {
      await a.context.close()
      await b.context.close()
    }
  })
})

describe('accounts by email, other verification modes', () => {
  let mail, browser

  before(async () => {
    mail = await startMailServer()
    browser = await launchBrowser()
  })
  after(async () => {
    await browser?.close()
    await mail?.stop()
  })

  test('mode none: sign up goes straight to the login page, and the new account signs in; throttled requests say how long to wait', async () => {
    const server = await startServer({
      env: { ...mail.env, GATEHOUSE_EMAIL_VERIFICATION: 'none', GATEHOUSE_ACCOUNT_ADDRESS_LIMIT: '2' },
    })
    try {
      const email = unique('nora')
      await withPage(browser, server, async ({ page }) => {
        await page.goto(server.url('/signup'))
        await emailInput(page).fill(email)
        await passwordInput(page).fill(PASSWORD)
        await submitButton(page).click()
        await page.waitForURL(server.url('/login'))
        await page.getByTestId('login-notice').filter({ hasText: 'Your account is ready.' }).waitFor()
        await submitLogin(page, email, PASSWORD)
        await page.getByTestId('profile-email').filter({ hasText: email }).waitFor()
      })
      // Reset has its own budget per address (2 here, the signup did not use it): the third request is 429.
      await withPage(browser, server, async ({ page }) => {
        await page.goto(server.url('/forgot-password'))
        for (let i = 0; i < 2; i++) {
          await emailInput(page).fill(email)
          await submitButton(page).click()
          await page.getByTestId('reset-requested').waitFor()
          await page.getByRole('button', { name: 'Use another address' }).click()
        }
        await emailInput(page).fill(email)
        await submitButton(page).click()
        await page
          .getByTestId('forgot-error')
          .filter({ hasText: /^Too many attempts\. Try again in \d+ (minute|hour)s?\.$/ })
          .waitFor()
        assert.equal(await submitButton(page).isEnabled(), true)
      })
    } finally {
      await server.stop()
    }
  })

  test('mode optional: an unconfirmed account signs in, its account page offers a new link, the link confirms it', async () => {
    const server = await startServer({ env: { ...mail.env, GATEHOUSE_EMAIL_VERIFICATION: 'optional' } })
    try {
      const email = unique('olga')
      await withPage(browser, server, async ({ page }) => {
        await page.goto(server.url('/signup'))
        await emailInput(page).fill(email)
        await passwordInput(page).fill(PASSWORD)
        await submitButton(page).click()
        await page.waitForURL(server.url('/signup/done'))
        await mail.waitFor(email, SUBJECT.confirm)

        await login(page, server, email, PASSWORD)
        await page.getByRole('link', { name: 'Account', exact: true }).click()
        await page.getByTestId('email-status').filter({ hasText: 'Not confirmed' }).waitFor()
        await page.getByRole('button', { name: 'Resend confirmation e-mail' }).click()
        await page.getByText(RESEND_DETAIL).waitFor()
        const link = linkIn(await mail.waitFor(email, SUBJECT.confirm, { count: 2 }), server.origin, CONFIRM_PATH)

        // Opened while signed in: confirmed, and back to the account page.
        await page.goto(link)
        await page.getByRole('heading', { name: 'Email confirmed' }).waitFor()
        await page.getByRole('link', { name: 'Go to your account' }).click()
        await page.waitForURL(server.url('/account'))
        await page.getByTestId('email-status').filter({ hasText: 'Confirmed' }).waitFor()
        assert.equal((await profileFromPage(page)).body.email_verified, true)
      })
    } finally {
      await server.stop()
    }
  })
})
