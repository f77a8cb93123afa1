// Screenshots of the login, home, sign-up and account pages, desktop
// (1280x800) and phone (390x844), and of the account's Sessions and API
// tokens pages and the admin area (desktop), into tests/e2e/output/.  With
// GATEHOUSE_UPDATE_DOCS=1 some desktop ones are also copied to
// docs/screenshot-{login,home,signup,account,tokens,admin}.png (committed;
// "account" is the Sessions page), so a plain `make test` leaves the working
// tree clean.
import assert from 'node:assert/strict'
import { copyFile, stat } from 'node:fs/promises'
import path from 'node:path'
import { after, before, describe, test } from 'node:test'
import { REPO, emailInput, launchBrowser, login, newContext, withPage, outputPath, startServer } from './harness.mjs'

const EMAIL = 'ada.lovelace@example.com'
const PASSWORD = 'analytical engine 1843'
const VIEWPORTS = {
  desktop: { viewport: { width: 1280, height: 800 } },
  phone: { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true },
}
const shot = { animations: 'disabled', caret: 'hide' }
const ADMIN = 'grace.hopper@example.com'
// Browsers as people have them, so the Sessions page names real devices.
const AGENTS = {
  mac: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  iphone:
    'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1',
  windows: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0',
}
const MEMBERS = [
  'ada.lovelace@example.com',
  'alan.turing@example.com',
  'barbara.liskov@example.com',
  'donald.knuth@example.com',
  'edsger.dijkstra@example.com',
  'frances.allen@example.com',
  'john.backus@example.com',
  'katherine.johnson@example.com',
  'ken.thompson@example.com',
  'margaret.hamilton@example.com',
]

describe('screenshots', () => {
  let server, browser
  const written = []

  before(async () => {
    server = await startServer()
    await server.createUser(EMAIL, PASSWORD)
    await server.createUser(ADMIN, PASSWORD, ['--superuser'])
    for (const email of MEMBERS.slice(1)) await server.createUser(email, PASSWORD)
    browser = await launchBrowser()
  })
  after(async () => {
    await browser?.close()
    await server?.stop()
  })

  for (const [name, options] of Object.entries(VIEWPORTS)) {
    test(`login, home, sign-up and account pages, ${name} ${options.viewport.width}x${options.viewport.height}`, async () => {
      await withPage(
        browser,
        server,
        async ({ context, page }) => {
          await page.goto(server.url('/login'))
          await emailInput(page).waitFor()
          await page.evaluate(() => document.activeElement?.blur())
          const loginFile = await outputPath(`login-${name}.png`)
          await page.screenshot({ path: loginFile, ...shot })

          await login(page, server, EMAIL, PASSWORD)
          await page.evaluate(() => document.activeElement?.blur())
          const homeFile = await outputPath(`home-${name}.png`)
          await page.screenshot({ path: homeFile, ...shot })

          await page.goto(server.url('/account'))
          await page.getByTestId('account-email').waitFor()
          await page.getByTestId('email-status').waitFor()
          await page.evaluate(() => document.activeElement?.blur())
          const accountFile = await outputPath(`account-${name}.png`)
          await page.screenshot({ path: accountFile, ...shot })

          for (const f of [loginFile, homeFile, accountFile]) assert.ok((await stat(f)).size > 1000, `${f} written`)
          // (docs/screenshot-account.png is the Sessions page, below.)
          if (name === 'desktop') written.push(['login', loginFile], ['home', homeFile])
        },
        options,
      )

      // Signed out, in a fresh context.
      await withPage(
        browser,
        server,
        async ({ page }) => {
          await page.goto(server.url('/signup'))
          await emailInput(page).waitFor()
          await page.evaluate(() => document.activeElement?.blur())
          const signupFile = await outputPath(`signup-${name}.png`)
          await page.screenshot({ path: signupFile, ...shot })
          assert.ok((await stat(signupFile)).size > 1000, `${signupFile} written`)
          if (name === 'desktop') written.push(['signup', signupFile])
        },
        options,
      )
    })
  }

  test('account sessions and tokens, admin users, user and audit pages, desktop 1280x800', async () => {
    // Two more browsers signed in as the admin, so Sessions lists three devices;
    // one of them and a few members leave some history behind.
    const others = []
    try {
      for (const agent of [AGENTS.iphone, AGENTS.windows]) {
        const other = await newContext(browser, { userAgent: agent })
        others.push(other)
        await login(other.page, server, ADMIN, PASSWORD)
      }
      for (const email of MEMBERS.slice(0, 4)) {
        await withPage(browser, server, ({ page }) => login(page, server, email, PASSWORD))
      }
      await withPage(
        browser,
        server,
        async ({ page }) => {
          // No focus ring, no selected text, scrolled to the top (the header is sticky).
          const blur = () =>
            page.evaluate(() => {
              const active = document.activeElement
              if (active?.setSelectionRange) active.setSelectionRange(0, 0)
              active?.blur()
              window.scrollTo(0, 0)
            })
          await login(page, server, ADMIN, PASSWORD)

          // API tokens: one older token, then a new one whose key is on screen.
          await page.goto(server.url('/account/tokens'))
          await page.getByTestId('no-tokens').waitFor()
          for (const [name, days] of [
            ['CI deploy (GitHub Actions)', '90'],
            ['backup script on nas-01', ''],
          ]) {
            await page.getByLabel('Name').fill(name)
            await page.getByLabel('Expires after (days) (optional)').fill(days)
            await page.getByLabel('Current password').fill(PASSWORD)
            await page.getByRole('button', { name: 'Create token' }).click()
            await page.getByTestId('new-token').filter({ hasText: name }).waitFor()
          }
          await blur()
          const tokensFile = await outputPath('account-tokens-desktop.png')
          await page.screenshot({ path: tokensFile, fullPage: true, ...shot })

          await page.goto(server.url('/account/sessions'))
          await page.getByTestId('session').nth(2).waitFor()
          await blur()
          const sessionsFile = await outputPath('account-sessions-desktop.png')
          await page.screenshot({ path: sessionsFile, ...shot })

          await page.getByTestId('header-admin-link').click()
          await page.getByTestId('user-row').nth(MEMBERS.length).waitFor()
          await blur()
          const adminFile = await outputPath('admin-desktop.png')
          await page.screenshot({ path: adminFile, fullPage: true, ...shot })

          await page.getByTestId('user-link').filter({ hasText: MEMBERS[0] }).click()
          await page.getByTestId('admin-session').first().waitFor()
          await page.getByTestId('admin-user-audit').getByTestId('audit-row').first().waitFor()
          await blur()
          const userFile = await outputPath('admin-user-desktop.png')
          await page.screenshot({ path: userFile, fullPage: true, ...shot })

          await page.getByRole('link', { name: 'Audit log', exact: true }).click()
          await page.getByTestId('audit-row').first().waitFor()
          await blur()
          const auditFile = await outputPath('admin-audit-desktop.png')
          await page.screenshot({ path: auditFile, ...shot })

          for (const f of [tokensFile, sessionsFile, adminFile, userFile, auditFile])
            assert.ok((await stat(f)).size > 1000, `${f} written`)
          written.push(['account', sessionsFile], ['tokens', tokensFile], ['admin', adminFile])
        },
        { userAgent: AGENTS.mac },
      )
    } finally {
      for (const other of others) await other.context.close()
    }
  })

  test(
    'copy the desktop screenshots to docs/ when asked (GATEHOUSE_UPDATE_DOCS=1)',
    { skip: process.env.GATEHOUSE_UPDATE_DOCS !== '1' },
    async () => {
      assert.equal(written.length, 6)
      for (const [page, file] of written) await copyFile(file, path.join(REPO, 'docs', `screenshot-${page}.png`))
    },
  )
})
