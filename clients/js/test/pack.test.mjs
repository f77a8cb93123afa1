// `npm pack` makes an installable tarball: the files it holds are the
// package's (no tests, nothing stray), it installs offline into a fresh
// project (no dependencies to fetch), and what it exports there is the client.
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'

const PKG_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const pkg = JSON.parse(fs.readFileSync(path.join(PKG_DIR, 'package.json'), 'utf8'))

function npm(args, cwd, tmp) {
  // a private cache, and nothing from the network
  return execFileSync(
    'npm',
    [...args, '--cache', path.join(tmp, 'npm-cache'), '--offline', '--no-audit', '--no-fund'],
    {
      cwd,
      encoding: 'utf8',
      env: { ...process.env, npm_config_update_notifier: 'false' },
      timeout: 120000,
    },
  )
}

test('npm pack: the tarball holds exactly the package files and installs offline', async () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gatehouse-client-pack-'))
  try {
    const [packed] = JSON.parse(npm(['pack', '--json', '--pack-destination', tmp], PKG_DIR, tmp))
    assert.equal(packed.name, '@gatehouse/client')
    assert.equal(packed.version, pkg.version)
    assert.equal(packed.filename, `gatehouse-client-${pkg.version}.tgz`)
    const files = packed.files.map((f) => f.path).sort()
    const sources = fs.readdirSync(path.join(PKG_DIR, 'src')).map((f) => `src/${f}`)
    assert.deepEqual(files, ['README.md', 'index.d.ts', 'package.json', ...sources].sort())
    assert.deepEqual(pkg.dependencies ?? {}, {}, 'no runtime dependencies')

    const app = path.join(tmp, 'app')
    fs.mkdirSync(app)
    fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }))
    npm(['install', path.join(tmp, packed.filename)], app, tmp)
    const installed = path.join(app, 'node_modules', '@gatehouse', 'client')
    assert.ok(fs.existsSync(path.join(installed, 'index.d.ts')))

    // import it by name from inside the project, as an app would
    fs.writeFileSync(
      path.join(app, 'check.mjs'),
      `import * as gh from '@gatehouse/client'
const c = gh.createClient({ baseUrl: 'http://127.0.0.1:1', crossTab: false })
console.log(JSON.stringify({
  exports: Object.keys(gh).sort(),
  groups: Object.keys(c).filter((k) => typeof c[k] === 'object' && c[k] !== null && k !== 'events').sort(),
  error: new gh.ThrottledError('x', { retryAfter: 3 }) instanceof gh.GatehouseError,
}))
c.close()
`,
    )
    const out = JSON.parse(execFileSync(process.execPath, ['check.mjs'], { cwd: app, encoding: 'utf8' }))
    for (const name of ['createClient', 'GatehouseError', 'MfaRequiredError', 'CsrfError', 'MemoryCookieJar'])
      assert.ok(out.exports.includes(name), `exports ${name}: ${out.exports}`)
    assert.deepEqual(out.groups, [
      'accounts',
      'admin',
      'auth',
      'mfa',
      'passkeys',
      'profile',
      'secondStep',
      'sessions',
      'social',
      'tokens',
    ])
    assert.equal(out.error, true)

    // every runtime export is declared in index.d.ts
    const dts = fs.readFileSync(path.join(installed, 'index.d.ts'), 'utf8')
    for (const name of out.exports)
      assert.match(dts, new RegExp(`export (declare )?(function|class|const|interface|type) ${name}\\b`), name)
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true })
  }
})
