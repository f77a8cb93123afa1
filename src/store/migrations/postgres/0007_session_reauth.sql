-- 7: when each session last proved its password (sensitive admin actions want it recent)
ALTER TABLE sessions ADD COLUMN reauth_at BIGINT NOT NULL DEFAULT 0;
