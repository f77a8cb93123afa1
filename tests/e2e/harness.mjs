// Shared set-up for the browser tests: the real gatehouse binary serving the
// built SPA (web/dist) on a free port with a fresh SQLite file, and Debian's
// Chromium driven by playwright-core; for the account flows, a real SMTP
// server (npm smtp-server) that captures gatehouse's mail (startMailServer).
//
// The browser reaches the app as http://app.test:<port> (and an attacker page
// as http://evil.test:<port>) through Chromium's --host-resolver-rules, so the
// two are different *sites* although both are 127.0.0.1.  Nothing here talks
// to the network beyond loopback.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import crypto from 'node:crypto'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium } from 'playwright-core'
import { simpleParser } from 'mailparser'
import { SMTPServer } from 'smtp-server'

const here = path.dirname(fileURLToPath(import.meta.url))
export const REPO = path.resolve(here, '../..')
export const BIN = process.env.GATEHOUSE_BIN || path.join(REPO, 'build/gatehouse')
export const STATIC_DIR = path.join(REPO, 'web/dist')
export const OUTPUT_DIR = path.join(here, 'output')
export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium'
export const APP_HOST = 'app.test'
export const EVIL_HOST = 'evil.test'

// docs/design.md §8: without the background-networking flags Chromium keeps trying
// to reach the network.
export const CHROMIUM_ARGS = [
  '--headless=new',
  '--no-sandbox',
  '--disable-gpu',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  `--host-resolver-rules=MAP ${APP_HOST} 127.0.0.1, MAP ${EVIL_HOST} 127.0.0.1`,
]

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer()
    srv.unref()
    srv.on('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address()
      srv.close(() => resolve(port))
    })
  })
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

function run(cmd, args, { env, input } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, stdio: ['pipe', 'pipe', 'pipe'] })
    let out = ''
    child.stdout.on('data', (d) => (out += d))
    child.stderr.on('data', (d) => (out += d))
    child.on('error', reject)
    child.on('close', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`${cmd} ${args.join(' ')} exited ${code}:\n${out}`)),
    )
    child.stdin.end(input ?? '')
  })
}

/**
 * Start `gatehouse serve` with a fresh database.  `env` overrides the
 * GATEHOUSE_* defaults (e.g. GATEHOUSE_LOGIN_ACCOUNT_LIMIT).  Resolves once
 * GET /healthz answers 200.  Returns { port, origin, createUser, stop, logs }.
 */
export async function startServer({ env: extra = {} } = {}) {
  if (!existsSync(BIN)) throw new Error(`gatehouse binary not found at ${BIN}: run make (or set GATEHOUSE_BIN)`)
  if (!existsSync(path.join(STATIC_DIR, 'index.html')))
    throw new Error(`${STATIC_DIR}/index.html missing: run (cd web && npm run build)`)

  const dir = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-e2e-'))
  const port = await freePort()
  const origin = `http://${APP_HOST}:${port}`
  // The caller's environment minus any GATEHOUSE_* (ASAN_OPTIONS etc. pass through).
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('GATEHOUSE_')))
  const env = {
    ...inherited,
    GATEHOUSE_LISTEN: `127.0.0.1:${port}`,
    GATEHOUSE_DATABASE: `sqlite:${path.join(dir, 'gh.db')}`,
    GATEHOUSE_STATIC_DIR: STATIC_DIR,
    GATEHOUSE_PUBLIC_ORIGIN: origin,
    GATEHOUSE_EMAIL: 'console',
    GATEHOUSE_LOGIN_ACCOUNT_LIMIT: '5',
    GATEHOUSE_LOGIN_WINDOW: '300',
    GATEHOUSE_ARGON2_MEMORY_KIB: '8192',
    GATEHOUSE_ARGON2_ITERATIONS: '1',
    ...extra,
  }

  let logs = ''
  const child = spawn(BIN, ['serve'], { env, cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] })
  child.stdout.on('data', (d) => (logs += d))
  child.stderr.on('data', (d) => (logs += d))
  let exited = null
  const exitPromise = new Promise((resolve) => {
    child.on('exit', (code, signal) => resolve((exited = { code, signal })))
    child.on('error', (err) => resolve((exited = { error: err.message }))) // could not start at all
  })
  // Never leave a server behind, even if the test process dies.
  const reap = () => exited || child.kill('SIGKILL')
  process.once('exit', reap)

  const deadline = Date.now() + 15000
  for (;;) {
    if (exited) throw new Error(`gatehouse exited early (${JSON.stringify(exited)}):\n${logs}`)
    try {
      const res = await fetch(`http://127.0.0.1:${port}/healthz`)
      if (res.status === 200) break
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL')
      throw new Error(`gatehouse did not answer /healthz within 15 s:\n${logs}`)
    }
    await sleep(100)
  }

  return {
    port,
    origin,
    url: (p = '/') => origin + p,
    logs: () => logs,
    /** `gatehouse createuser EMAIL`, password on stdin. */
    createUser: (email, password, flags = []) =>
      run(BIN, ['createuser', email, ...flags], { env, input: password + '\n' }),
    async stop() {
      if (!exited) {
        child.kill('SIGTERM')
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
        await exitPromise
        clearTimeout(timer)
      }
      process.off('exit', reap)
      rmSync(dir, { recursive: true, force: true })
      // A SANITIZE=1 build reports memory errors on stderr without failing a request.
      if (/ERROR: (Address|Leak)Sanitizer|runtime error:/.test(logs))
        throw new Error(`gatehouse reported sanitizer errors:\n${logs}`)
    },
  }
}

/** Chromium with a fresh, throw-away profile (playwright makes a temp user-data dir per launch). */
export function launchBrowser() {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS })
}

/**
 * A fresh context (own cookies and localStorage) and one page in it.
 * `problems` collects, from every page of the context, uncaught exceptions
 * and Content-Security-Policy violations: see assertNoProblems.
 */
export async function newContext(browser, options = {}) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, ...options })
  context.setDefaultTimeout(10000)
  const problems = []
  const watch = (page) => {
    page.on('pageerror', (err) => problems.push(`${page.url()}: uncaught ${err.message}`))
    page.on('console', (msg) => {
      if (msg.type() === 'error' && /Content Security Policy|Refused to/.test(msg.text()))
        problems.push(`${page.url()}: ${msg.text()}`)
    })
  }
  context.on('page', watch)
  const page = await context.newPage()
  return { context, page, problems }
}

/** The SPA on the app's origin threw nothing and broke no CSP rule. */
export function assertNoProblems(problems, origin) {
  const ours = problems.filter((p) => p.startsWith(origin))
  if (ours.length) throw new Error(`the SPA reported problems:\n${ours.join('\n')}`)
}

// ---- page helpers ----------------------------------------------------------

export const emailInput = (page) => page.getByLabel('Email address')
export const passwordInput = (page) => page.getByLabel('Password', { exact: true })
// "Sign in" or, while busy, "Signing in…" (not "Sign in with a passkey")
export const signInButton = (page) => page.getByRole('button', { name: /^Sign(ing)? in(…)?$/ })
export const loginError = (page) => page.getByTestId('login-error')

/** Fill and submit the login form (the page must be on /login). */
export async function submitLogin(page, email, password) {
  await emailInput(page).fill(email)
  await passwordInput(page).fill(password)
  await signInButton(page).click()
}

/** Go to /login, sign in, wait for the home page to show the email. */
export async function login(page, server, email, password) {
  await page.goto(server.url('/login'))
  await submitLogin(page, email, password)
  await page.getByTestId('profile-email').filter({ hasText: email }).waitFor()
}

/** Status and body of GET /api/users/profile/ made by the page itself (its cookies). */
export function profileFromPage(page) {
  return page.evaluate(async () => {
    const res = await fetch('/api/users/profile/', { headers: { Accept: 'application/json' } })
    return { status: res.status, body: await res.json().catch(() => null) }
  })
}

/** The sessionid cookie as the browser holds it (HttpOnly: only CDP can see it). */
export async function sessionCookie(context, origin) {
  const all = await context.cookies(origin)
  return all.find((c) => c.name === 'sessionid') || null
}

export async function outputPath(name) {
  await mkdir(OUTPUT_DIR, { recursive: true })
  return path.join(OUTPUT_DIR, name)
}

/** Poll fn() until it returns a truthy value (or throw after `timeout` ms). */
export async function eventually(fn, { timeout = 5000, interval = 100, message = 'condition' } = {}) {
  const deadline = Date.now() + timeout
  let last
  for (;;) {
    try {
      last = await fn()
      if (last) return last
    } catch (e) {
      last = e
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${message} (last: ${last})`)
    await sleep(interval)
  }
}

export const unique = (prefix) =>
  `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 7)}@example.com`

/** Run fn({ context, page }) in a fresh context; fail on SPA errors; always close. */
export async function withPage(browser, server, fn, options) {
  const { context, page, problems } = await newContext(browser, options)
  try {
    await fn({ context, page })
    assertNoProblems(problems, server.origin)
  } finally {
    await context.close()
  }
}

// ---- mail ------------------------------------------------------------------

/**
 * A real SMTP server on 127.0.0.1 (npm smtp-server) that keeps every message
 * it is given, parsed by mailparser.  Start gatehouse with `server.env` to
 * send its mail here.  Messages: { to: [envelope recipients], from, subject,
 * text, html, headers }.
 */
export async function startMailServer() {
  const messages = []
  const smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ['AUTH', 'STARTTLS'], // GATEHOUSE_EMAIL_TLS=off: plain SMTP on loopback
    logger: false,
    closeTimeout: 1000,
    onData(stream, session, callback) {
      simpleParser(stream).then(
        (parsed) => {
          messages.push({
            from: session.envelope.mailFrom?.address || '',
            to: session.envelope.rcptTo.map((r) => r.address.toLowerCase()),
            subject: parsed.subject || '',
            text: parsed.text || '',
            html: parsed.html || '',
            headers: parsed.headers,
          })
          callback()
        },
        (err) => callback(err),
      )
    },
  })
  await new Promise((resolve, reject) => {
    smtp.server.once('error', reject)
    smtp.listen(0, '127.0.0.1', resolve)
  })
  const { port } = smtp.server.address()

  return {
    port,
    messages,
    /** The settings that point gatehouse at this server. */
    env: {
      GATEHOUSE_EMAIL: `smtp://127.0.0.1:${port}`,
      GATEHOUSE_EMAIL_TLS: 'off',
      GATEHOUSE_MAIL_POLL: '1',
    },
    /** Mails to `address` (optionally only those whose subject is `subject`), in arrival order. */
    to(address, subject) {
      const want = address.toLowerCase()
      return messages.filter((m) => m.to.includes(want) && (subject === undefined || m.subject === subject))
    },
    /** Wait until there are `count` such mails; resolves to the last of them. */
    async waitFor(address, subject, { count = 1, timeout = 10000 } = {}) {
      try {
        const found = await eventually(
          () => {
            const list = this.to(address, subject)
            return list.length >= count && list
          },
          { timeout, interval: 50, message: `mail #${count} "${subject}" to ${address}` },
        )
        return found[count - 1]
      } catch (e) {
        throw new Error(
          `${e.message}; mails so far: ${JSON.stringify(messages.map((m) => [m.to.join(','), m.subject]))}`,
        )
      }
    },
    stop: () => new Promise((resolve) => smtp.close(resolve)),
  }
}

/**
 * The link on a line of its own in a mail's text part whose path matches
 * `pathPattern` (a regexp source for the part after the origin).  The whole
 * line must be the link, and it must start with `origin`.
 */
export function linkIn(message, origin, pathPattern) {
  const escaped = origin.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
  const line = new RegExp(`^${escaped}${pathPattern}$`)
  const found = message.text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .find((l) => line.test(l))
  if (!found) throw new Error(`no line matching ${line} in the text part of "${message.subject}":\n${message.text}`)
  return found
}

// ---- social login providers --------------------------------------------------

/**
 * The stand-in providers of tests/providers, on 127.0.0.1: a real OpenID
 * provider (npm oidc-provider) configured in gatehouse as the generic OIDC
 * provider `oidcName` labelled `oidcLabel`, and the GitHub stand-in.  Loaded
 * on demand, so the other browser tests do not need tests/providers' packages.
 * Start gatehouse with `providers.env`, then call `providers.allowOrigin(origin)`
 * to register its callback URLs; `stop()` in `after`.
 */
export async function startProviders({ oidcName = 'acme', oidcLabel = 'Acme ID' } = {}) {
  const { startGithub, startOidcProvider } = await import('../providers/index.mjs').catch((e) => {
    throw new Error(
      `tests/providers could not be loaded (${e.message}); install its packages: (cd tests/providers && npm ci)`,
    )
  })
  const [oidc, github] = await Promise.all([
    startOidcProvider({ clients: [{ client_id: `${oidcName}-spa`, client_secret: `${oidcName}-secret` }] }),
    startGithub({ clients: [{ client_id: 'gh-spa', client_secret: 'gh-secret' }] }),
  ])
  return {
    oidc,
    github,
    env: { ...github.gatehouseEnv(), GATEHOUSE_OIDC_PROVIDERS: oidcName, ...oidc.gatehouseEnv(oidcName, oidcLabel) },
    allowOrigin(origin) {
      oidc.allowOrigin(origin, oidcName)
      github.allowOrigin(origin, 'github')
    },
    stop: () => Promise.all([oidc.stop(), github.stop()]),
  }
}

// ---- second factors (docs/mfa-contract.md) -------------------------------------

// RFC 6238 TOTP (SHA-1, 6 digits, 30 s), computed here from the key the Security page shows.
export function base32Decode(text) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'
  let bits = ''
  for (const ch of text.replace(/[\s=]/g, '').toUpperCase()) {
    const v = alphabet.indexOf(ch)
    if (v < 0) throw new Error(`not base32: ${text}`)
    bits += v.toString(2).padStart(5, '0')
  }
  const bytes = bits.match(/.{8}/g) || []
  return Buffer.from(bytes.map((b) => parseInt(b, 2)))
}
export const timeStep = (ms = Date.now()) => Math.floor(ms / 1000 / 30)
export function totp(secret, step) {
  const counter = Buffer.alloc(8)
  counter.writeBigUInt64BE(BigInt(step))
  const mac = crypto.createHmac('sha1', base32Decode(secret)).update(counter).digest()
  const offset = mac[mac.length - 1] & 0x0f
  return String((mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000).padStart(6, '0')
}

const RECOVERY_CODE = /^[a-z0-9]{5}-[a-z0-9]{5}$/

/** The recovery codes the page shows once, checked for shape and number. */
export async function shownRecoveryCodes(page) {
  await page.getByTestId('fresh-recovery-codes').waitFor()
  const codes = (await page.getByTestId('recovery-code').allTextContents()).map((c) => c.trim())
  assert.equal(codes.length, 10)
  for (const c of codes) assert.match(c, RECOVERY_CODE)
  assert.equal(new Set(codes).size, 10, 'ten different codes')
  return codes
}

/**
 * On the Security page: set up the authenticator app from the key the page
 * shows -> { secret, step (of the code used), codes (the recovery codes shown) }.
 * `password`: the server will ask for it again first (the re-authentication dialog).
 */
export async function setUpTotp(page, { password } = {}) {
  await page.getByRole('button', { name: 'Set up an authenticator app' }).click()
  if (password !== undefined) {
    const dialog = page.getByRole('dialog', { name: 'Confirm your password' })
    await dialog.getByLabel('Your password').fill(password)
    await dialog.getByRole('button', { name: 'Confirm' }).click()
  }
  await page.getByTestId('totp-setup').waitFor()
  const secret = await page.locator('#totp-secret').inputValue()
  assert.match(secret, /^[A-Z2-7]{16,}=*$/, 'a base32 secret')
  const step = timeStep()
  await page.getByLabel('Code from the app').fill(totp(secret, step))
  await page.getByRole('button', { name: 'Turn on' }).click()
  const codes = await shownRecoveryCodes(page)
  await page.getByTestId('totp-status').filter({ hasText: 'On' }).waitFor()
  return { secret, step, codes }
}
