-- 3: the audit log
CREATE TABLE audit (
  id INTEGER PRIMARY KEY,
  at INTEGER NOT NULL,
  actor_id INTEGER,
  user_id INTEGER,
  event TEXT NOT NULL,
  detail TEXT NOT NULL DEFAULT '{}',
  ip TEXT NOT NULL DEFAULT '',
  user_agent TEXT NOT NULL DEFAULT '');
CREATE INDEX audit_user ON audit(user_id, id);
CREATE INDEX audit_actor ON audit(actor_id, id);
CREATE INDEX audit_event ON audit(event, id);
