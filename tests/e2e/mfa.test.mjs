// Second factors and passkeys in the real SPA (docs/mfa-contract.md), with
// Chromium's virtual authenticator standing in for a phone's or laptop's
// passkey store (CDP WebAuthn domain: resident keys, user verification on).
//
// WebAuthn needs a secure context and a domain name as rpId.  The harness
// serves the app as http://app.test:<port>: plain http on a name that is not
// localhost, so not a secure context.  This file starts its Chromium with
// --unsafely-treat-insecure-origin-as-secure=<that origin>, which makes it one,
// rather than moving to http://localhost:<port>: the origin, the server's
// GATEHOUSE_PUBLIC_ORIGIN, cookies and the harness helpers stay exactly as in
// every other browser test, and the rpId is a real (non-loopback-special) name.
//
// One server for the file; each test its own user and browser context.
import assert from 'node:assert/strict'
import { copyFile, readFile, stat } from 'node:fs/promises'
import path from 'node:path'
import { after, before, describe, test } from 'node:test'
import { chromium } from 'playwright-core'
import {
  CHROMIUM,
  CHROMIUM_ARGS,
  REPO,
  login,
  newContext,
  assertNoProblems,
  eventually,
  outputPath,
  passwordInput,
  profileFromPage,
  setUpTotp,
  shownRecoveryCodes,
  startServer,
  submitLogin,
  timeStep,
  totp,
  unique,
} from './harness.mjs'

const PASSWORD = 'two factors are better 2026'
const shot = { animations: 'disabled', caret: 'hide' }
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

/** A 6-digit code that no step the server accepts now (±1) gives. */
function wrongCode(secret) {
  const valid = [-1, 0, 1, 2].map((d) => totp(secret, timeStep() + d))
  for (let n = 0; ; n++) {
    const code = String(n * 111111 + 13)
      .padStart(6, '0')
      .slice(-6)
    if (!valid.includes(code)) return code
  }
}

/** A virtual platform authenticator (like Touch ID or Windows Hello) for `page`. */
async function addAuthenticator(context, page) {
  const cdp = await context.newCDPSession(page)
  await cdp.send('WebAuthn.enable')
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport: 'internal',
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  })
  return {
    credentials: async () => (await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials,
    remove: () => cdp.send('WebAuthn.removeVirtualAuthenticator', { authenticatorId }),
  }
}

async function signOut(page) {
  await page.getByRole('button', { name: 'Log out' }).click()
  await page.waitForURL((url) => url.pathname === '/login')
}

async function openSecurity(page) {
  await page.getByRole('link', { name: 'Account', exact: true }).click()
  await page.getByTestId('account-tab-security').click()
  await page.waitForURL((url) => url.pathname === '/account/security')
  await page.getByTestId('passkeys-card').waitFor()
}

async function addPasskey(page, name) {
  await page.getByLabel('Name of the new passkey').fill(name)
  await page.getByRole('button', { name: 'Add a passkey' }).click()
  await page.getByTestId('passkey-name').filter({ hasText: name }).waitFor()
}

const homeShows = (page, email) => page.getByTestId('profile-email').filter({ hasText: email }).waitFor()

/**
 * newContext, plus the console errors of the app's pages: a Vue render error
 * is only logged (the page stays as it was), so assertNoProblems alone would
 * miss it.  Refused requests (401, 400...) are expected here and left out.
 */
async function openContext(browser, options) {
  const opened = await newContext(browser, options)
  const watch = (page) =>
    page.on('console', (msg) => {
      if (msg.type() === 'error' && !/^Failed to load resource/.test(msg.text()))
        opened.problems.push(`${page.url()}: console error: ${msg.text()}`)
    })
  watch(opened.page)
  opened.context.on('page', watch)
  return opened
}

/** Chromium for `server`, its origin a secure context (see the top of the file). */
const launchFor = (server) =>
  chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [...CHROMIUM_ARGS, `--unsafely-treat-insecure-origin-as-secure=${server.origin}`],
  })

describe('second factors and passkeys', () => {
  let server, browser

  before(async () => {
    server = await startServer()
    browser = await launchFor(server)
  })
  after(async () => {
    await browser?.close()
    await server?.stop()
  })

  test('a passkey added on the Security page signs in with no password: from the autofill, and from the button', async () => {
    const email = unique('pat')
    await server.createUser(email, PASSWORD)
    const { context, page, problems } = await openContext(browser)
    try {
      const authenticator = await addAuthenticator(context, page)
      await login(page, server, email, PASSWORD)
      await openSecurity(page)
      await page.getByTestId('no-passkeys').waitFor()
      assert.equal(await page.title(), 'Security · Gatehouse')

      await addPasskey(page, 'Work laptop')
      // The first factor comes with recovery codes, shown once.
      await shownRecoveryCodes(page)
      await page.getByRole('button', { name: "I've saved them" }).click()
      assert.equal(await page.getByTestId('fresh-recovery-codes').count(), 0)
      assert.match(await page.getByTestId('recovery-count').innerText(), /10 of 10\s+unused/)
      assert.equal(await page.evaluate(() => typeof PublicKeyCredential.parseCreationOptionsFromJSON), 'function')
      const stored = await authenticator.credentials()
      assert.equal(stored.length, 1)
      assert.equal(stored[0].isResidentCredential, true, 'a discoverable credential (passkey)')
      assert.equal(stored[0].rpId, new URL(server.origin).hostname)
      assert.equal((await profileFromPage(page)).body.mfa_enabled, true)

      // Rename inline.
      await page.getByTestId('passkey-rename').click()
      await page.getByLabel('Name', { exact: true }).fill('Work laptop (Touch ID)')
      await page.getByRole('button', { name: 'Save' }).click()
      await page.getByTestId('passkey-name').filter({ hasText: 'Work laptop (Touch ID)' }).waitFor()
      await page.reload()
      await page.getByTestId('passkey-name').filter({ hasText: 'Work laptop (Touch ID)' }).waitFor()

      // Signed out, the login page asks the browser for a passkey in the email
      // field's autofill (conditional mediation); the virtual authenticator
      // answers at once, as a person picking their passkey there would.
      await signOut(page)
      await homeShows(page, email)
      assert.equal((await profileFromPage(page)).body.email, email)

      // A browser without that autofill, nor the WebAuthn JSON helpers (the
      // SPA converts base64url itself, lib/webauthn.js): the button does it.
      await context.addInitScript(() => {
        window.PublicKeyCredential.isConditionalMediationAvailable = async () => false
        delete window.PublicKeyCredential.parseRequestOptionsFromJSON
        delete window.PublicKeyCredential.prototype.toJSON
      })
      await page.reload()
      await homeShows(page, email)
      assert.equal(await page.evaluate(() => typeof PublicKeyCredential.parseRequestOptionsFromJSON), 'undefined')
      await signOut(page)
      const button = page.getByRole('button', { name: 'Sign in with a passkey' })
      await button.waitFor()
      assert.equal(await passwordInput(page).inputValue(), '')
      assert.equal((await profileFromPage(page)).status, 401, 'still signed out until the button is used')
      await button.click()
      await homeShows(page, email)
      assert.equal((await profileFromPage(page)).status, 200)

      // The list says when it was last used; removing the only factor takes the recovery codes along.
      await openSecurity(page)
      await page.getByTestId('passkey').filter({ hasText: 'Last used just now' }).waitFor()
      await page.getByTestId('passkey-remove').click()
      const confirm = page.getByRole('dialog', { name: 'Remove “Work laptop (Touch ID)”?' })
      await confirm.getByRole('button', { name: 'Remove' }).click()
      await page.getByTestId('passkey-message').filter({ hasText: 'Removed “Work laptop (Touch ID)”.' }).waitFor()
      await page.getByTestId('no-passkeys').waitFor()
      assert.match(await page.getByTestId('recovery-count').innerText(), /first/)
      assert.equal((await profileFromPage(page)).body.mfa_enabled, false)
      assertNoProblems(problems, server.origin)
    } finally {
      await context.close()
    }
  })

  test('authenticator app and recovery codes: set up from the page, then the second step after the password; a used code is refused', async () => {
    const email = 'ada.lovelace@example.com' // on the screenshots
    await server.createUser(email, PASSWORD)
    const { context, page, problems } = await openContext(browser, { acceptDownloads: true })
    const blur = () =>
      page.evaluate(() => {
        const active = document.activeElement
        if (active?.setSelectionRange && /^(text|search|password)$/.test(active.type)) active.setSelectionRange(0, 0)
        active?.blur()
        window.scrollTo(0, 0)
      })
    const shots = []
    // This browser makes its passkey without the WebAuthn JSON helpers: the
    // SPA's own conversion (lib/webauthn.js) must satisfy the server.
    await context.addInitScript(() => {
      delete window.PublicKeyCredential.parseCreationOptionsFromJSON
      delete window.PublicKeyCredential.prototype.toJSON
    })
    try {
      const authenticator = await addAuthenticator(context, page)
      await login(page, server, email, PASSWORD)
      await openSecurity(page)

      // Set-up: the key as text, the code computed here from it.
      await page.getByRole('button', { name: 'Set up an authenticator app' }).click()
      await page.getByTestId('totp-setup').waitFor()
      const secret = await page.locator('#totp-secret').inputValue()
      assert.match(secret, /^[A-Z2-7]{16,}=*$/, 'a base32 secret')
      const otpauth = await page.getByTestId('totp-link').getAttribute('href')
      assert.match(otpauth, /^otpauth:\/\/totp\//)
      assert.equal(new URL(otpauth).searchParams.get('secret'), secret, 'the link and the key agree')
      // The QR code: an SVG image the strict CSP lets the browser draw.
      const qr = page.getByTestId('totp-qr').locator('img')
      assert.match(await qr.getAttribute('src'), /^data:image\/svg\+xml/)
      await eventually(() => qr.evaluate((img) => img.complete && img.naturalWidth > 0), {
        message: 'the QR code drawn',
      })
      await page.getByLabel('Code from the app').fill(wrongCode(secret))
      await page.getByRole('button', { name: 'Turn on' }).click()
      await page.locator('#totp-code-error').filter({ hasText: 'not valid' }).waitFor()
      let lastStep = timeStep()
      await page.getByLabel('Code from the app').fill(totp(secret, lastStep))
      await page.getByRole('button', { name: 'Turn on' }).click()
      const codes = await shownRecoveryCodes(page)
      await page.getByTestId('totp-message').filter({ hasText: 'Your authenticator app is on.' }).waitFor()

      // Download as a text file: every code is in it.
      const [download] = await Promise.all([
        page.waitForEvent('download'),
        page.getByRole('button', { name: 'Download (.txt)' }).click(),
      ])
      assert.match(download.suggestedFilename(), /recovery-codes\.txt$/)
      const text = await readFile(await download.path(), 'utf8')
      for (const c of codes) assert.ok(text.includes(c), `${c} in the downloaded file`)
      await page.getByRole('button', { name: "I've saved them" }).click()

      // A passkey too, for the screenshot of the Security page (made through the SPA's own conversion).
      assert.equal(await page.evaluate(() => typeof PublicKeyCredential.parseCreationOptionsFromJSON), 'undefined')
      await addPasskey(page, 'MacBook Pro (Touch ID)')
      assert.equal(await page.getByTestId('fresh-recovery-codes').count(), 0, 'codes exist already: none shown')
      await page.reload() // the page as it is on a visit: no notes from the changes just made
      await page.getByTestId('passkey-name').filter({ hasText: 'MacBook Pro (Touch ID)' }).waitFor()
      await page.getByTestId('totp-status').filter({ hasText: 'On' }).waitFor()
      await blur()
      shots.push(['security', await outputPath('security-desktop.png')])
      await page.screenshot({ path: shots.at(-1)[1], fullPage: true, ...shot })

      // The passkey stays behind (no authenticator in this browser any more):
      // sign in with the password, then the app's code.
      await authenticator.remove()
      await signOut(page)
      await page.goto(server.url('/login')) // without the "signed out" note
      await page.getByRole('button', { name: 'Sign in with a passkey' }).waitFor()
      await blur()
      shots.push(['passkey-login', await outputPath('passkey-login-desktop.png')])
      await page.screenshot({ path: shots.at(-1)[1], ...shot })

      await submitLogin(page, email, PASSWORD)
      await page.waitForURL(server.url('/login/verify'))
      assert.equal(await page.title(), "Confirm it's you · Gatehouse")
      assert.equal((await profileFromPage(page)).status, 401, 'no session before the second step')
      // The account has a passkey, so it is offered first; the others are a click away.
      await page.getByRole('button', { name: 'Use your passkey' }).waitFor()
      await page.getByRole('button', { name: 'Use your authenticator app' }).click()
      const codeField = page.getByLabel('Code from your authenticator app')
      assert.equal(await codeField.getAttribute('autocomplete'), 'one-time-code')
      assert.equal(await codeField.getAttribute('inputmode'), 'numeric')
      await blur()
      shots.push(['second-step', await outputPath('second-step-desktop.png')])
      await page.screenshot({ path: shots.at(-1)[1], ...shot })

      // The code that turned the app on was used: refused.  The next one works.
      await codeField.fill(totp(secret, lastStep))
      await page.getByRole('button', { name: 'Verify' }).click()
      await page.locator('#mfa-code-error').filter({ hasText: 'That code is not valid.' }).waitFor()
      lastStep = Math.max(timeStep(), lastStep + 1)
      await codeField.fill(totp(secret, lastStep))
      await page.getByRole('button', { name: 'Verify' }).click()
      await homeShows(page, email)
      assert.equal((await profileFromPage(page)).body.mfa_enabled, true)

      // A recovery code instead (any case, spaces around it).
      await signOut(page)
      await submitLogin(page, email, PASSWORD)
      await page.getByRole('button', { name: 'Use a recovery code' }).click()
      await page.getByLabel('Recovery code').fill(` ${codes[0].toUpperCase()} `)
      await page.getByRole('button', { name: 'Verify' }).click()
      await homeShows(page, email)

      // The same code once more: refused.  Then the pending login goes away
      // (its cookie is lost): back to the login page, which says why.
      await signOut(page)
      await submitLogin(page, email, PASSWORD)
      await page.getByRole('button', { name: 'Use a recovery code' }).click()
      await page.getByLabel('Recovery code').fill(codes[0])
      await page.getByRole('button', { name: 'Verify' }).click()
      await page
        .locator('#recovery-code-error')
        .filter({ hasText: 'That recovery code is not valid or was already used.' })
        .waitFor()
      assert.equal((await profileFromPage(page)).status, 401)
      await context.clearCookies({ name: 'gatehouse_mfa' })
      await page.getByLabel('Recovery code').fill(codes[1])
      await page.getByRole('button', { name: 'Verify' }).click()
      await page.waitForURL(server.url('/login'))
      await page.getByTestId('login-notice').filter({ hasText: 'Your sign-in expired. Sign in again.' }).waitFor()
      assert.equal((await profileFromPage(page)).status, 401)

      // codes[1] was not used up by that: it signs in, and two of ten are gone.
      await submitLogin(page, email, PASSWORD)
      await page.getByRole('button', { name: 'Use a recovery code' }).click()
      await page.getByLabel('Recovery code').fill(codes[1])
      await page.getByRole('button', { name: 'Verify' }).click()
      await homeShows(page, email)
      await openSecurity(page)
      const unused8 = page.getByTestId('recovery-count').filter({ hasText: /8 of 10\s+unused/ })
      await unused8.waitFor()

      // Remove the app (after a confirmation); the passkey stays, so do the recovery codes.
      await page.getByRole('button', { name: 'Remove the authenticator app' }).click()
      await page
        .getByRole('dialog', { name: 'Remove the authenticator app?' })
        .getByRole('button', { name: 'Remove' })
        .click()
      await page.getByTestId('totp-message').filter({ hasText: 'The authenticator app was removed' }).waitFor()
      await page.getByTestId('totp-status').filter({ hasText: 'Off' }).waitFor()
      await unused8.waitFor()
      assert.equal((await profileFromPage(page)).body.mfa_enabled, true, 'the passkey is still a factor')

      for (const [, file] of shots) assert.ok((await stat(file)).size > 1000, `${file} written`)
      // docs/screenshot-{security,second-step,passkey-login}.png, as screenshots.test.mjs does.
      if (process.env.GATEHOUSE_UPDATE_DOCS === '1')
        for (const [name, file] of shots) await copyFile(file, path.join(REPO, 'docs', `screenshot-${name}.png`))
      assertNoProblems(problems, server.origin)
    } finally {
      await context.close()
    }
  })

  test("staff see a user's factors (never a secret) and remove them all; the user is back to the password alone", async () => {
    const email = unique('lost-phone')
    const admin = unique('root')
    await server.createUser(email, PASSWORD)
    await server.createUser(admin, PASSWORD, ['--superuser'])
    const user = await openContext(browser)
    const staff = await openContext(browser)
    try {
      await login(user.page, server, email, PASSWORD)
      await openSecurity(user.page)
      await setUpTotp(user.page)
      const me = (await profileFromPage(user.page)).body

      const { page } = staff
      await login(page, server, admin, PASSWORD)
      await page.goto(server.url(`/admin/users/${me.id}`))
      const card = page.getByTestId('admin-mfa')
      await card.waitFor()
      assert.equal((await page.getByTestId('admin-mfa-totp').innerText()).trim(), 'Yes')
      assert.equal((await page.getByTestId('admin-mfa-webauthn').innerText()).trim(), 'None')
      assert.equal((await page.getByTestId('admin-mfa-codes').innerText()).trim(), '10 unused')
      await card.getByRole('button', { name: 'Remove second factors' }).click()
      const confirm = page.getByRole('dialog', { name: `Remove ${email}'s second factors?` })
      await confirm.getByRole('button', { name: 'Remove second factors' }).click()
      await page.getByTestId('admin-mfa-message').filter({ hasText: 'Removed.' }).waitFor()
      assert.equal((await page.getByTestId('admin-mfa-totp').innerText()).trim(), 'No')
      assert.equal((await page.getByTestId('admin-mfa-codes').innerText()).trim(), 'None')
      assert.equal(await card.getByRole('button', { name: 'Remove second factors' }).isDisabled(), true)
      await page
        .getByTestId('admin-user-audit')
        .getByTestId('audit-row')
        .filter({ hasText: 'admin.mfa_removed' })
        .first()
        .waitFor()

      // The user's page, reloaded, shows no factor; the password alone signs in.
      await user.page.reload()
      await user.page.getByTestId('totp-status').filter({ hasText: 'Off' }).waitFor()
      await signOut(user.page)
      await submitLogin(user.page, email, PASSWORD)
      await homeShows(user.page, email)
      assertNoProblems(user.problems, server.origin)
      assertNoProblems(staff.problems, server.origin)
    } finally {
      await user.context.close()
      await staff.context.close()
    }
  })
})

describe('GATEHOUSE_MFA_REQUIRED=all, GATEHOUSE_REAUTH_MAX_AGE=3: the Security page first; changes confirmed again', () => {
  const REAUTH_MS = 3200 // a little over GATEHOUSE_REAUTH_MAX_AGE: the last check is no longer recent
  let server, browser

  before(async () => {
    server = await startServer({ env: { GATEHOUSE_MFA_REQUIRED: 'all', GATEHOUSE_REAUTH_MAX_AGE: '3' } })
    browser = await launchFor(server)
  })
  after(async () => {
    await browser?.close()
    await server?.stop()
  })

  test('kept on Security until a factor is set; each change asks again: the password, then a code, then a passkey', async () => {
    const email = unique('newcomer')
    await server.createUser(email, PASSWORD)
    const { context, page, problems } = await openContext(browser)
    try {
      await page.goto(server.url('/login?next=/account/sessions'))
      await submitLogin(page, email, PASSWORD)
      await page.waitForURL(server.url('/account/security'))
      await page
        .getByTestId('mfa-required-banner')
        .filter({ hasText: 'Your organisation requires a second factor' })
        .waitFor()
      const profile = await profileFromPage(page)
      assert.equal(profile.status, 200)
      assert.equal(profile.body.mfa_setup_required, true)

      // Any other page comes back here; the API refuses them too.
      const refused = await page.evaluate(async () => {
        const res = await fetch('/api/sessions/', { headers: { Accept: 'application/json' } })
        return { status: res.status, body: await res.json() }
      })
      assert.equal(refused.status, 403)
      assert.equal(refused.body.code, 'mfa_setup_required')
      await page.getByTestId('account-tab-sessions').click()
      await page.waitForURL(server.url('/account/security'))
      await page.goto(server.url('/account/tokens'))
      await page.waitForURL(server.url('/account/security'))
      await page.getByTestId('mfa-required-banner').waitFor()

      // The sign-in is no longer recent: the password again, then the set-up.
      await sleep(REAUTH_MS)
      const { step, secret } = await setUpTotp(page, { password: PASSWORD })
      await page.getByTestId('mfa-unlocked-banner').waitFor()
      assert.equal(await page.getByTestId('mfa-required-banner').count(), 0)
      assert.equal((await profileFromPage(page)).body.mfa_setup_required, undefined)
      await page.getByRole('button', { name: "I've saved them" }).click()

      // A passkey, confirmed with a code from the app.
      const reauth = page.getByTestId('reauth-dialog')
      await addAuthenticator(context, page)
      await sleep(REAUTH_MS)
      await page.getByLabel('Name of the new passkey').fill('Phone')
      await page.getByRole('button', { name: 'Add a passkey' }).click()
      await reauth.getByRole('button', { name: 'Use your authenticator app instead' }).click()
      await reauth.getByLabel('Code from your authenticator app').fill(totp(secret, Math.max(timeStep(), step + 1)))
      await reauth.getByRole('button', { name: 'Confirm' }).click()
      await page.getByTestId('passkey-name').filter({ hasText: 'Phone' }).waitFor()

      // Removing it, confirmed with the passkey itself.
      await sleep(REAUTH_MS)
      await page.getByTestId('passkey-remove').click()
      await page.getByRole('dialog', { name: 'Remove “Phone”?' }).getByRole('button', { name: 'Remove' }).click()
      await reauth.getByRole('button', { name: 'Use a passkey instead' }).click()
      await reauth.getByRole('button', { name: 'Use your passkey' }).click()
      await page.getByTestId('passkey-message').filter({ hasText: 'Removed “Phone”.' }).waitFor()
      await page.getByTestId('no-passkeys').waitFor()

      // Free to go anywhere now.
      await page.getByTestId('account-tab-sessions').click()
      await page.waitForURL(server.url('/account/sessions'))
      await page.getByTestId('session').first().waitFor()
      assertNoProblems(problems, server.origin)
    } finally {
      await context.close()
    }
  })
})
