-- 6: pending social states bounded per browser and per client IP, purged through an index
ALTER TABLE social_states ADD COLUMN ip TEXT NOT NULL DEFAULT '';
CREATE INDEX social_states_expires ON social_states(expires_at);
CREATE INDEX social_states_browser ON social_states(browser_hash, expires_at);
CREATE INDEX social_states_ip ON social_states(ip, expires_at);
