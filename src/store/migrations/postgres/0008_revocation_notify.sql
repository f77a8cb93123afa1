-- 8: every change that ends or alters a signed-in caller is announced on channel gatehouse_revoke, so
-- every instance drops it from its session and token cache (pgsql_cache.c): "s:" session key hash,
-- "t:" token key hash, "u:" user id.  Triggers, so a change made by hand in psql counts too.  NOTIFY
-- is transactional: it goes out when the change commits, never for a change rolled back.  A session
-- touch (last_seen forward) and a token's last_used are not announced.
CREATE FUNCTION gatehouse_notify_session() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('gatehouse_revoke', 's:' || OLD.key_hash);
  RETURN NULL;
END $$;
CREATE FUNCTION gatehouse_notify_token() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('gatehouse_revoke', 't:' || OLD.key_hash);
  RETURN NULL;
END $$;
CREATE FUNCTION gatehouse_notify_user() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('gatehouse_revoke', 'u:' || OLD.id);
  RETURN NULL;
END $$;
CREATE TRIGGER sessions_notify_delete AFTER DELETE ON sessions
  FOR EACH ROW EXECUTE FUNCTION gatehouse_notify_session();
CREATE TRIGGER sessions_notify_update AFTER UPDATE ON sessions FOR EACH ROW
  WHEN (NEW.last_seen < OLD.last_seen OR NEW.expires_at <> OLD.expires_at OR NEW.auth_hash <> OLD.auth_hash
        OR NEW.key_hash <> OLD.key_hash OR NEW.user_id <> OLD.user_id OR NEW.reauth_at <> OLD.reauth_at)
  EXECUTE FUNCTION gatehouse_notify_session();
CREATE TRIGGER tokens_notify_delete AFTER DELETE ON tokens
  FOR EACH ROW EXECUTE FUNCTION gatehouse_notify_token();
CREATE TRIGGER tokens_notify_update AFTER UPDATE ON tokens FOR EACH ROW
  WHEN (NEW.expires_at IS DISTINCT FROM OLD.expires_at OR NEW.key_hash <> OLD.key_hash
        OR NEW.user_id <> OLD.user_id OR NEW.name <> OLD.name)
  EXECUTE FUNCTION gatehouse_notify_token();
CREATE TRIGGER users_notify_delete AFTER DELETE ON users
  FOR EACH ROW EXECUTE FUNCTION gatehouse_notify_user();
CREATE TRIGGER users_notify_update AFTER UPDATE ON users FOR EACH ROW
  WHEN (ROW(NEW.email, NEW.password, NEW.first_name, NEW.last_name, NEW.is_active, NEW.is_staff,
            NEW.is_superuser, NEW.email_verified, NEW.auth_hash)
        IS DISTINCT FROM ROW(OLD.email, OLD.password, OLD.first_name, OLD.last_name, OLD.is_active,
            OLD.is_staff, OLD.is_superuser, OLD.email_verified, OLD.auth_hash))
  EXECUTE FUNCTION gatehouse_notify_user();
