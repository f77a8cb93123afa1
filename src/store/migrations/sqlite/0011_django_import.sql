-- 11: users imported from Django (gatehouse import-django): the Django user model and primary key of
-- each, so a second import finds the same account again, and hashes of what the last import wrote (the whole row, the
-- password hash alone), so a row unchanged in Django since then is left alone (a password upgraded at
-- login here is not put back) and a password changed there replaces the one here.
CREATE TABLE django_users (
  django_model TEXT NOT NULL,
  django_pk TEXT NOT NULL,
  user_id INTEGER NOT NULL UNIQUE REFERENCES users(id) ON DELETE CASCADE,
  row_hash TEXT NOT NULL,
  password_hash TEXT NOT NULL,
  imported_at INTEGER NOT NULL,
  PRIMARY KEY (django_model, django_pk));
