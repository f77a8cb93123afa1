// Routes and guards.
//
// meta.requiresAuth: anonymous visitors go to /login?next=<the page>.
// meta.guest:       sign-in style pages; signed-in users are sent home.
// meta.title:       the document title.
// Links from mails (/confirm-email/..., /reset-password/...) are neither:
// they work in whatever state the browser that opens them is in.  Their
// secret never stays in the address bar: the link's route parks it in memory
// (lib/linkSecret.js) and redirects, replacing the history entry, to the
// same page without it.
// meta.staff:       the admin area; AdminLayout shows non-staff a "not
//                   allowed" page at the same address (the API says 403 anyway).
// /auth/:provider/callback (social login) is neither guest nor signed-in: it
// also finishes "Connect <Provider>" for a signed-in user.
// /login/verify is the second step of a login (a guest page: the browser
// holds only the pending login's HttpOnly cookie, no session yet).
// A restricted session (profile "mfa_setup_required": the organisation wants
// a second factor and the account has none) reaches only the Security page
// until one is set up: every other signed-in page redirects there, and so
// does any API answer 403 "mfa_setup_required".
import { nextTick } from 'vue'
import { createRouter, createWebHistory } from 'vue-router'
import { gatehouse } from './gatehouse.js'
import { pageTitle } from './config.js'
import { useAuthStore } from './stores/auth.js'
import { holdLinkSecret } from './lib/linkSecret.js'
import { safeNext } from './lib/next.js'
import AccountLayout from './layouts/AccountLayout.vue'
import AdminLayout from './layouts/AdminLayout.vue'
import AccountSecurityView from './views/AccountSecurityView.vue'
import AccountSessionsView from './views/AccountSessionsView.vue'
import AccountTokensView from './views/AccountTokensView.vue'
import AccountView from './views/AccountView.vue'
import AdminAuditView from './views/AdminAuditView.vue'
import AdminUserView from './views/AdminUserView.vue'
import AdminUsersView from './views/AdminUsersView.vue'
import ConfirmEmailView from './views/ConfirmEmailView.vue'
import ForgotPasswordView from './views/ForgotPasswordView.vue'
import HomeView from './views/HomeView.vue'
import LoginVerifyView from './views/LoginVerifyView.vue'
import LoginView from './views/LoginView.vue'
import LogoutView from './views/LogoutView.vue'
import NotFoundView from './views/NotFoundView.vue'
import ResetPasswordView from './views/ResetPasswordView.vue'
import SignupDoneView from './views/SignupDoneView.vue'
import SignupView from './views/SignupView.vue'
import SocialCallbackView from './views/SocialCallbackView.vue'

const routes = [
  { path: '/', name: 'home', component: HomeView, meta: { requiresAuth: true, title: 'Home' } },
  { path: '/login', name: 'login', component: LoginView, meta: { guest: true, title: 'Sign in' } },
  {
    path: '/login/verify',
    name: 'login-verify',
    component: LoginVerifyView,
    meta: { guest: true, title: "Confirm it's you" },
  },
  { path: '/logout', name: 'logout', component: LogoutView, meta: { title: 'Sign out' } },
  { path: '/signup', name: 'signup', component: SignupView, meta: { guest: true, title: 'Create an account' } },
  {
    path: '/signup/done',
    name: 'signup-done',
    component: SignupDoneView,
    meta: { guest: true, title: 'Check your email' },
  },
  {
    path: '/confirm-email/:key',
    name: 'confirm-email-link',
    redirect: (to) => {
      holdLinkSecret('confirm', String(to.params.key))
      return { name: 'confirm-email', replace: true }
    },
  },
  { path: '/confirm-email', name: 'confirm-email', component: ConfirmEmailView, meta: { title: 'Confirm your email' } },
  {
    path: '/forgot-password',
    name: 'forgot-password',
    component: ForgotPasswordView,
    meta: { guest: true, title: 'Forgot password' },
  },
  {
    path: '/reset-password/:uid/:token',
    name: 'reset-password-link',
    redirect: (to) => {
      holdLinkSecret('reset', { uid: String(to.params.uid), token: String(to.params.token) })
      return { name: 'reset-password', replace: true }
    },
  },
  {
    path: '/reset-password',
    name: 'reset-password',
    component: ResetPasswordView,
    meta: { title: 'Choose a new password' },
  },
  {
    path: '/account',
    component: AccountLayout,
    meta: { requiresAuth: true },
    children: [
      { path: '', name: 'account', component: AccountView, meta: { title: 'Your account' } },
      { path: 'security', name: 'account-security', component: AccountSecurityView, meta: { title: 'Security' } },
      { path: 'sessions', name: 'account-sessions', component: AccountSessionsView, meta: { title: 'Sessions' } },
      { path: 'tokens', name: 'account-tokens', component: AccountTokensView, meta: { title: 'API tokens' } },
    ],
  },
  {
    path: '/admin',
    component: AdminLayout,
    meta: { requiresAuth: true, staff: true },
    children: [
      { path: '', name: 'admin-users', component: AdminUsersView, meta: { title: 'Users · Admin' } },
      { path: 'users/:id(\\d+)', name: 'admin-user', component: AdminUserView, meta: { title: 'User · Admin' } },
      { path: 'audit', name: 'admin-audit', component: AdminAuditView, meta: { title: 'Audit log · Admin' } },
    ],
  },
  {
    path: '/auth/:provider/callback',
    name: 'social-callback',
    component: SocialCallbackView,
    meta: { title: 'Signing in' },
  },
  { path: '/:pathMatch(.*)*', name: 'not-found', component: NotFoundView, meta: { title: 'Page not found' } },
]

export function loginLocation(fullPath) {
  return fullPath && fullPath !== '/' ? { name: 'login', query: { next: fullPath } } : { name: 'login' }
}

export function createAppRouter(pinia) {
  const router = createRouter({
    history: createWebHistory(),
    routes,
    scrollBehavior: (to, from, saved) => saved || { top: 0 },
  })
  const auth = useAuthStore(pinia)
  let pending = null // the navigation being guarded, if any

  router.beforeEach(async (to) => {
    pending = to
    if (auth.authenticated && !auth.user) {
      // After a reload (or a login in another tab): who are we?  A 401 clears
      // the state (the client's auth change -> handler below); other failures leave us signed in
      // and the page shows them with a retry.
      await auth.fetchProfile().catch(() => {})
    }
    if (to.meta.requiresAuth && !auth.authenticated) return loginLocation(to.fullPath)
    if (to.meta.guest && auth.authenticated) return { name: 'home' }
    if (to.meta.requiresAuth && auth.user?.mfa_setup_required && to.name !== 'account-security')
      return { name: 'account-security' }
    return true
  })

  router.afterEach((to, from, failure) => {
    pending = null
    if (failure) return
    // Non-staff on an admin page see AdminLayout's "not allowed" page.
    const refused = to.meta.staff && auth.user && !auth.user.is_staff
    document.title = pageTitle(refused ? 'Not allowed' : to.meta.title)
    if (from.matched.length === 0) return // first load: leave focus alone
    // Move focus to the new page's heading, unless the page took it already
    // (the login form focuses its first field), so screen readers follow.
    nextTick(() => {
      const active = document.activeElement
      if (active && active !== document.body && document.contains(active)) return
      document.querySelector('main h1')?.focus()
    })
  })
  router.onError(() => {
    pending = null
  })

  gatehouse.onAuthChange((change) => {
    if (change.source === 'remote') followOtherTab(change.state === 'signed-in')
    else if (change.reason === 'unauthorized') sessionEnded()
    // a login or logout made here: the store and the page that made it go on from there
  })

  // A 401 from a signed-in call: the session is gone.
  function sessionEnded() {
    auth.clear()
    if (pending) return // the guard above is running and will redirect itself
    const here = router.currentRoute.value
    if (here.meta.guest) return
    router.replace(loginLocation(here.fullPath))
  }

  // Another tab signed in or out (the client's BroadcastChannel): follow it.
  function followOtherTab(signedIn) {
    if (signedIn === auth.authenticated) return
    const here = router.currentRoute.value
    if (signedIn) {
      auth.setAuthenticated(true, { broadcast: false })
      auth.fetchProfile().catch(() => {})
      if (here.meta.guest) router.replace(afterLoginTarget(router, here.query.next))
    } else {
      auth.clear({ broadcast: false })
      if (here.meta.requiresAuth) router.replace(loginLocation(here.fullPath))
    }
  }

  // The session is restricted until a second factor is set up.
  gatehouse.onError((error) => {
    if (error.status !== 403 || error.code !== 'mfa_setup_required') return
    auth.markSetupRequired()
    if (router.currentRoute.value.name !== 'account-security') router.replace({ name: 'account-security' })
  })

  return router
}

/** `next` from a login URL, resolved to a route that is not itself a guest page. */
export function afterLoginTarget(router, next) {
  const target = safeNext(next)
  const resolved = router.resolve(target)
  return resolved.meta.guest || resolved.name === 'logout' ? '/' : target
}
