-- 9: second factors (issue 14): authenticator apps (TOTP), recovery codes, WebAuthn credentials, the
-- single-use WebAuthn challenges and the logins waiting for their second step.  Every factor goes with
-- its user (ON DELETE CASCADE); secrets and codes are stored sealed or hashed, never as typed.
ALTER TABLE users ADD COLUMN mfa_enabled INTEGER NOT NULL DEFAULT 0;
CREATE TABLE mfa_totp (
  user_id INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
  secret TEXT NOT NULL,
  confirmed INTEGER NOT NULL DEFAULT 0,
  last_step INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL);
CREATE TABLE mfa_recovery (
  id INTEGER PRIMARY KEY,
  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  code_hash TEXT NOT NULL,
  used_at INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL,
  UNIQUE (user_id, code_hash));
CREATE TABLE webauthn_credentials (
  id INTEGER PRIMARY KEY,
  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  cred_id TEXT NOT NULL UNIQUE,
  public_key TEXT NOT NULL,
  alg INTEGER NOT NULL,
  sign_count INTEGER NOT NULL DEFAULT 0,
  name TEXT NOT NULL,
  transports TEXT NOT NULL DEFAULT '',
  created_at INTEGER NOT NULL,
  last_used INTEGER NOT NULL DEFAULT 0);
CREATE INDEX webauthn_credentials_user ON webauthn_credentials(user_id);
-- user_id 0: a challenge for nobody yet (passkey sign-in); not a key into users
CREATE TABLE mfa_challenges (
  challenge_hash TEXT PRIMARY KEY,
  purpose TEXT NOT NULL,
  user_id INTEGER NOT NULL DEFAULT 0,
  bind_hash TEXT NOT NULL,
  expires_at INTEGER NOT NULL);
CREATE INDEX mfa_challenges_bind ON mfa_challenges(bind_hash);
CREATE INDEX mfa_challenges_expires ON mfa_challenges(expires_at);
CREATE TABLE mfa_pending (
  key_hash TEXT PRIMARY KEY,
  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  auth_hash TEXT NOT NULL,
  method TEXT NOT NULL,
  next TEXT NOT NULL DEFAULT '',
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL);
CREATE INDEX mfa_pending_expires ON mfa_pending(expires_at);
CREATE INDEX mfa_pending_user ON mfa_pending(user_id);
