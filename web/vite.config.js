// Vite build for the gatehouse SPA.
//
// `npm run build` writes web/dist, which gatehouse serves from
// GATEHOUSE_STATIC_DIR on the same origin as /api/ (that is the whole point:
// the HttpOnly session cookie and the csrftoken cookie are first-party).
// Asset names keep Vite's content hash (assets/index-<hash>.js) because the
// server marks those immutable.  `npm run dev` proxies /api/ to a local
// gatehouse so the dev server is same-origin too.
import { defineConfig } from 'vite'
import vue from '@vitejs/plugin-vue'

const api = process.env.GATEHOUSE_DEV_API || 'http://127.0.0.1:8000'

export default defineConfig({
  plugins: [vue()],
  base: '/',
  build: {
    outDir: 'dist',
    assetsDir: 'assets',
    // A strict CSP (script-src 'self') must hold: no inline scripts, no eval.
    modulePreload: { polyfill: false },
    sourcemap: false,
  },
  server: {
    proxy: {
      '/api': { target: api, changeOrigin: false },
      '/healthz': { target: api },
    },
  },
})
