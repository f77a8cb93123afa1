-- 5: throttle counters, one row per admitted attempt (sqlite_throttle.c)
CREATE TABLE throttle_hits (
  id INTEGER PRIMARY KEY,
  key_hash TEXT NOT NULL,
  at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL);
CREATE INDEX throttle_hits_key ON throttle_hits(key_hash, at);
CREATE INDEX throttle_hits_expires ON throttle_hits(expires_at);
