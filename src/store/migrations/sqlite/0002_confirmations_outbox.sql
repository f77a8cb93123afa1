-- 2: email confirmation keys and the mail outbox
CREATE TABLE email_confirmations (
  id INTEGER PRIMARY KEY,
  key_hash TEXT NOT NULL UNIQUE,
  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  email TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL);
CREATE INDEX email_confirmations_user ON email_confirmations(user_id);
CREATE TABLE outbox (
  id INTEGER PRIMARY KEY,
  recipient TEXT NOT NULL,
  message TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  next_attempt_at INTEGER NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  sent_at INTEGER,
  last_error TEXT NOT NULL DEFAULT '');
CREATE INDEX outbox_due ON outbox(next_attempt_at) WHERE sent_at IS NULL;
