// Stand-in social login providers for gatehouse's API and browser tests: real
// servers on 127.0.0.1 that a relying party talks to over HTTP exactly as it
// would talk to the real ones.  See README.md.
export { startOidcProvider, OIDC_DEFAULT_ACCOUNTS } from './oidc.mjs';
export { startGithub, GITHUB_DEFAULT_USERS } from './github.mjs';
export { startFacebook, FACEBOOK_DEFAULT_USERS } from './facebook.mjs';
export { startFakeOidc, signJwt, unsignedJwt, hmacJwt, FAKE_DEFAULT_ACCOUNTS } from './fake-oidc.mjs';
export { ProviderBrowser, parseForm } from './browser.mjs';
export { s256, randomToken } from './common.mjs';
