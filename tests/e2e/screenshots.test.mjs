// Screenshots of the login, home, sign-up and account pages, desktop
// (1280x800) and phone (390x844), into tests/e2e/output/.  With
// GATEHOUSE_UPDATE_DOCS=1 the desktop ones are also copied to
// docs/screenshot-{login,home,signup,account}.png (committed), so a plain
// `make test` leaves the working tree clean.
import assert from 'node:assert/strict'
import { copyFile, stat } from 'node:fs/promises'
import path from 'node:path'
import { after, before, describe, test } from 'node:test'
import { REPO, emailInput, launchBrowser, login, withPage, outputPath, startServer } from './harness.mjs'

const EMAIL = 'ada.lovelace@example.com'
const PASSWORD = 'analytical engine 1843'
const VIEWPORTS = {
  desktop: { viewport: { width: 1280, height: 800 } },
  phone: { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true },
}
const shot = { animations: 'disabled', caret: 'hide' }

describe('screenshots', () => {
  let server, browser
  const written = []

  before(async () => {
    server = await startServer()
    await server.createUser(EMAIL, PASSWORD)
    browser = await launchBrowser()
  })
  after(async () => {
    await browser?.close()
    await server?.stop()
  })

  for (const [name, options] of Object.entries(VIEWPORTS)) {
    test(`login, home, sign-up and account pages, ${name} ${options.viewport.width}x${options.viewport.height}`, async () => {
      await withPage(browser, server, async ({ context, page }) => {
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
        if (name === 'desktop') written.push(['login', loginFile], ['home', homeFile], ['account', accountFile])
      }, options)

      // Signed out, in a fresh context.
      await withPage(browser, server, async ({ page }) => {
        await page.goto(server.url('/signup'))
        await emailInput(page).waitFor()
        await page.evaluate(() => document.activeElement?.blur())
        const signupFile = await outputPath(`signup-${name}.png`)
        await page.screenshot({ path: signupFile, ...shot })
        assert.ok((await stat(signupFile)).size > 1000, `${signupFile} written`)
        if (name === 'desktop') written.push(['signup', signupFile])
      }, options)
    })
  }

  test('copy the desktop screenshots to docs/ when asked (GATEHOUSE_UPDATE_DOCS=1)', { skip: process.env.GATEHOUSE_UPDATE_DOCS !== '1' }, async () => {
    assert.equal(written.length, 4)
    for (const [page, file] of written) await copyFile(file, path.join(REPO, 'docs', `screenshot-${page}.png`))
  })
})
