// Cross-site request forgery from a real other site.  The app is
// http://app.test:<port>; the attacker's pages come from a tiny node server at
// http://evil.test:<port2> (both 127.0.0.1 through --host-resolver-rules), so
// Chromium applies its real cross-site rules: SameSite=Lax cookies, Origin
// headers, CORS.  Form POSTs (in iframes and top level, urlencoded and the
// text/plain JSON trick) and fetch(..., {credentials: 'include'}) to
// /api/logout/ and /api/login/ must change nothing.
import assert from 'node:assert/strict'
import http from 'node:http'
import { after, before, describe, test } from 'node:test'
import {
  EVIL_HOST,
  freePort,
  launchBrowser,
  login,
  withPage,
  profileFromPage,
  sessionCookie,
  startServer,
} from './harness.mjs'

const VICTIM = 'victim@example.com'
const VICTIM_PASSWORD = 'victim password 1'
const ATTACKER = 'mallory@example.com'
const ATTACKER_PASSWORD = 'mallory password 1'

function attackerSite(app) {
  const creds = `email=${encodeURIComponent(ATTACKER)}&password=${encodeURIComponent(ATTACKER_PASSWORD)}`
  const jsonName = `{"email":"${ATTACKER}","password":"${ATTACKER_PASSWORD}","pad":"`
  const attr = (s) => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;')
  const pages = {
    // Everything at once, without leaving the page.
    '/attack': `<!doctype html><title>You won!</title>
      <iframe name="f1"></iframe><iframe name="f2"></iframe><iframe name="f3"></iframe>
      <form id="logout" method="POST" action="${app}/api/logout/" target="f1"></form>
      <form id="login" method="POST" action="${app}/api/login/" target="f2">
        <input name="email" value="${attr(ATTACKER)}"><input name="password" value="${attr(ATTACKER_PASSWORD)}"></form>
      <form id="jsonlogin" method="POST" action="${app}/api/login/" target="f3" enctype="text/plain">
        <input name="${attr(jsonName)}" value='"}'></form>
      <script>
        const app = ${JSON.stringify(app)}
        const loaded = (n) => new Promise((r) => document.querySelector('iframe[name=' + n + ']').addEventListener('load', r, { once: true }))
        const frames = Promise.all(['f1', 'f2', 'f3'].map(loaded))
        for (const id of ['logout', 'login', 'jsonlogin']) document.getElementById(id).submit()
        const form = { 'Content-Type': 'application/x-www-form-urlencoded' }
        const json = { 'Content-Type': 'application/json' }
        Promise.allSettled([
          fetch(app + '/api/logout/', { method: 'POST', credentials: 'include', mode: 'no-cors' }),
          fetch(app + '/api/login/', { method: 'POST', credentials: 'include', mode: 'no-cors', headers: form, body: ${JSON.stringify(creds)} }),
          fetch(app + '/api/login/', { method: 'POST', credentials: 'include', mode: 'no-cors', headers: { 'Content-Type': 'text/plain' }, body: JSON.stringify({ email: ${JSON.stringify(ATTACKER)}, password: ${JSON.stringify(ATTACKER_PASSWORD)} }) }),
          fetch(app + '/api/login/', { method: 'POST', credentials: 'include', headers: json, body: JSON.stringify({ email: ${JSON.stringify(ATTACKER)}, password: ${JSON.stringify(ATTACKER_PASSWORD)} }) }),
          fetch(app + '/api/logout/', { method: 'POST', credentials: 'include', headers: { ...json, 'X-CSRFToken': 'a'.repeat(32) }, body: '{}' }),
        ])
          .then(() => Promise.race([frames, new Promise((r) => setTimeout(r, 5000))]))
          .then(() => { document.title = 'attack finished' })
      </script>`,
    // Top-level form POSTs: the classic CSRF, and login CSRF.
    '/top-login': `<!doctype html><title>Loading…</title>
      <form id="f" method="POST" action="${app}/api/login/">
        <input name="email" value="${attr(ATTACKER)}"><input name="password" value="${attr(ATTACKER_PASSWORD)}"></form>
      <script>document.getElementById('f').submit()</script>`,
    '/top-logout': `<!doctype html><title>Loading…</title>
      <form id="f" method="POST" action="${app}/api/logout/"></form>
      <script>document.getElementById('f').submit()</script>`,
    // A plain link to the SPA's sign-out page.
    '/link-logout': `<!doctype html><title>Loading…</title><script>location.href = ${JSON.stringify(app + '/logout')}</script>`,
  }
  return http.createServer((req, res) => {
    const body = pages[new URL(req.url, 'http://x').pathname]
    res.writeHead(body ? 200 : 404, { 'Content-Type': 'text/html; charset=utf-8' })
    res.end(body || 'not found')
  })
}

describe('cross-site requests', () => {
  let server, browser, evil, evilOrigin

  before(async () => {
    server = await startServer()
    await server.createUser(VICTIM, VICTIM_PASSWORD)
    await server.createUser(ATTACKER, ATTACKER_PASSWORD)
    const port = await freePort()
    evil = attackerSite(server.origin)
    await new Promise((r) => evil.listen(port, '127.0.0.1', r))
    evilOrigin = `http://${EVIL_HOST}:${port}`
    browser = await launchBrowser()
  })
  after(async () => {
    await browser?.close()
    await new Promise((r) => (evil ? evil.close(r) : r()))
    await server?.stop()
  })

  // Every POST the browser sent to the app while `fn` ran, with its status.
  async function appPostsDuring(context, fn) {
    const seen = []
    const onResponse = (res) => {
      const req = res.request()
      if (req.method() === 'POST' && res.url().startsWith(server.origin + '/api/'))
        seen.push({ url: res.url(), status: res.status() })
    }
    context.on('response', onResponse)
    try {
      await fn()
    } finally {
      context.off('response', onResponse)
    }
    return seen
  }

  test('form POSTs and credentialed fetches from another site change nothing for a signed-in user', async () => {
    await withPage(browser, server, async ({ context, page: victim }) => {
      await login(victim, server, VICTIM, VICTIM_PASSWORD)
      const sessionBefore = await sessionCookie(context, server.origin)
      const csrfBefore = (await context.cookies(server.origin)).find((c) => c.name === 'csrftoken')
      assert.ok(sessionBefore)

      const attacker = await context.newPage() // same browser profile, another tab
      const posts = await appPostsDuring(context, async () => {
        await attacker.goto(`${evilOrigin}/attack`)
        await attacker.waitForFunction(() => document.title === 'attack finished', null, { timeout: 15000 })

        for (const path of ['/top-login', '/top-logout']) {
          const target = path === '/top-login' ? '/api/login/' : '/api/logout/'
          const landed = attacker.waitForResponse(
            (r) => r.url() === server.origin + target && r.request().method() === 'POST',
          )
          await attacker.goto(evilOrigin + path)
          await landed
        }
      })

      // The requests did reach the server, and it refused every one.
      assert.ok(posts.length >= 5, `expected the forged POSTs to reach the app, saw ${JSON.stringify(posts)}`)
      for (const p of posts) assert.equal(p.status, 403, `forged POST ${p.url} answered ${p.status}`)

      // A link to the SPA's sign-out page only asks.
      await attacker.goto(`${evilOrigin}/link-logout`)
      await attacker.waitForURL(server.url('/logout'))
      await attacker.getByRole('heading', { name: 'Sign out?' }).waitFor()

      // The victim's session is the same one, and it still works.
      const sessionAfter = await sessionCookie(context, server.origin)
      assert.equal(sessionAfter?.value, sessionBefore.value, 'no new session cookie')
      assert.equal((await context.cookies(server.origin)).filter((c) => c.name === 'sessionid').length, 1)
      const csrfAfter = (await context.cookies(server.origin)).find((c) => c.name === 'csrftoken')
      assert.equal(csrfAfter?.value, csrfBefore.value, 'the CSRF token was not rotated by a login')
      const profile = await profileFromPage(victim)
      assert.equal(profile.status, 200)
      assert.equal(profile.body.email, VICTIM)
      await victim.reload()
      await victim.getByTestId('profile-email').filter({ hasText: VICTIM }).waitFor()
    })
  })

  test("a login form on another site cannot sign an anonymous visitor into the attacker's account", async () => {
    await withPage(browser, server, async ({ context, page }) => {
      const posts = await appPostsDuring(context, async () => {
        const landed = page.waitForResponse(
          (r) => r.url() === server.url('/api/login/') && r.request().method() === 'POST',
        )
        await page.goto(`${evilOrigin}/top-login`)
        await landed
        await page.goto(`${evilOrigin}/attack`)
        await page.waitForFunction(() => document.title === 'attack finished', null, { timeout: 15000 })
      })
      assert.ok(posts.length >= 4, `expected the forged POSTs to reach the app, saw ${JSON.stringify(posts)}`)
      for (const p of posts) assert.equal(p.status, 403, `forged POST ${p.url} answered ${p.status}`)

      assert.equal(await sessionCookie(context, server.origin), null, 'no session cookie was planted')
      await page.goto(server.url('/'))
      await page.waitForURL(server.url('/login'))
      assert.equal((await profileFromPage(page)).status, 401)
    })
  })
})
