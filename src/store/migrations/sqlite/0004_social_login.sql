-- 4: social login
CREATE TABLE social_states (
  state_hash TEXT PRIMARY KEY,
  provider TEXT NOT NULL,
  browser_hash TEXT NOT NULL,
  verifier TEXT NOT NULL,
  nonce TEXT NOT NULL,
  next TEXT NOT NULL DEFAULT '/',
  link_user_id INTEGER,
  expires_at INTEGER NOT NULL);
CREATE TABLE social_identities (
  id INTEGER PRIMARY KEY,
  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  provider TEXT NOT NULL,
  uid TEXT NOT NULL,
  extra TEXT NOT NULL DEFAULT '{}',
  created_at INTEGER NOT NULL,
  UNIQUE (provider, uid));
CREATE INDEX social_identities_user ON social_identities(user_id);
