// Vite build for the gatehouse SPA.
//
// `npm run build` writes web/dist, which gatehouse serves from
// GATEHOUSE_STATIC_DIR on the same origin as /api/ (that is the whole point:
// the HttpOnly session cookie and the csrftoken cookie are first-party).
// Asset names keep Vite's content hash (assets/index-<hash>.js) because the
// server marks those immutable.  `npm run dev` proxies /api/ to a local
// gatehouse so the dev server is same-origin too.
//
// '@gatehouse/client' is the repository's own JS client (clients/js), taken
// from its source through an alias: no npm install, no copy in node_modules,
// so `npm ci` here needs nothing new and a change to the client is in the next
// build.  The dev server may read that folder too (server.fs.allow).
import { fileURLToPath } from 'node:url'
import { defineConfig, searchForWorkspaceRoot } from 'vite'
import vue from '@vitejs/plugin-vue'

const client = fileURLToPath(new URL('../clients/js', import.meta.url))

const api = process.env.GATEHOUSE_DEV_API || 'http://127.0.0.1:8000'

export default defineConfig({
  plugins: [vue()],
  base: '/',
  resolve: {
    alias: { '@gatehouse/client': `${client}/src/index.js` },
  },
  build: {
    outDir: 'dist',
    assetsDir: 'assets',
    // A strict CSP (script-src 'self') must hold: no inline scripts, no eval.
    modulePreload: { polyfill: false },
    sourcemap: false,
  },
  server: {
    fs: { allow: [searchForWorkspaceRoot(process.cwd()), client] },
    proxy: {
      '/api': { target: api, changeOrigin: false },
      '/healthz': { target: api },
    },
  },
})
