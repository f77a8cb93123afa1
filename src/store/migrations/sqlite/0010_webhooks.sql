-- 10: the webhook outbox (issue 15): one row per event and endpoint that wants it, written in the
-- transaction of the change it reports and delivered by the webhook worker.  msg_id is the message's
-- webhook-id, the same on every attempt; endpoint is the URL it goes to (its secret stays in the
-- configuration); payload is the JSON body (no secret: ids, an email, IP and user agent).  Times are
-- unix seconds, but next_attempt_ms (milliseconds: test backoffs are shorter than a second).  done_at:
-- delivered (delivered = 1) or given up; such rows are purged after webhook_keep seconds.
CREATE TABLE webhook_outbox (
  id INTEGER PRIMARY KEY,
  msg_id TEXT NOT NULL UNIQUE,
  endpoint TEXT NOT NULL,
  event TEXT NOT NULL,
  payload TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  next_attempt_ms INTEGER NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  last_status INTEGER NOT NULL DEFAULT 0,
  last_error TEXT NOT NULL DEFAULT '',
  delivered INTEGER NOT NULL DEFAULT 0,
  done_at INTEGER);
CREATE INDEX webhook_outbox_due ON webhook_outbox(next_attempt_ms) WHERE done_at IS NULL;
CREATE INDEX webhook_outbox_done ON webhook_outbox(done_at) WHERE done_at IS NOT NULL;
