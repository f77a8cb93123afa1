#!/usr/bin/python3
"""A small real Django project for tests/api/django-import.test.mjs.

Run with Debian's python3 (python3-django, python3-djangorestframework,
python3-social-django):

    /usr/bin/python3 django_project.py DIR custom|stock GITHUB_UID

writes a project into DIR (settings, one app), runs `manage.py migrate`
(SQLite), makes users with Django's own create_user (real password
hashing), DRF tokens and python-social-auth rows, runs `manage.py dumpdata
... --output DIR/dump.json` and prints one JSON object on stdout: the dump's
path and what the test needs to know (addresses, passwords, token keys, the
expected counts).

custom: a custom user model accounts.User with email as USERNAME_FIELD.
stock:  django.contrib.auth's User (username + email), with an empty
        address, two users sharing one address (only the case differs), an
        md5 hash gatehouse cannot verify and a social row of a provider
        gatehouse does not have.

The password hashers are Django's defaults (PBKDF2-SHA256, 260,000 rounds in
Django 3.2), MD5 added after them only so the stock project can make one such
hash on purpose: nothing is lowered for speed.
"""
import json
import os
import subprocess
import sys
import textwrap

MODELS = '''
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.utils import timezone


class UserManager(BaseUserManager):
    use_in_migrations = True

    def create_user(self, email, password=None, **extra):
        user = self.model(email=self.normalize_email(email), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email, password=None, **extra):
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self.create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    email = models.EmailField(unique=True)
    first_name = models.CharField(max_length=150, blank=True)
    last_name = models.CharField(max_length=150, blank=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=timezone.now)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS = []
    objects = UserManager()
'''

SETTINGS = '''
SECRET_KEY = "test-only-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["*"]
USE_TZ = True
TIME_ZONE = "UTC"
ROOT_URLCONF = "proj.urls"
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "rest_framework",
    "rest_framework.authtoken",
    "social_django",
    {extra_app}
]
DATABASES = {{"default": {{"ENGINE": "django.db.backends.sqlite3", "NAME": {db!r}}}}}
AUTHENTICATION_BACKENDS = [
    "social_core.backends.github.GithubOAuth2",
    "django.contrib.auth.backends.ModelBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.MD5PasswordHasher",
]
{user_model}
'''

CUSTOM_SETUP = '''
import json, sys
from django.contrib.auth import get_user_model
from django.utils import timezone
from rest_framework.authtoken.models import Token
from social_django.models import UserSocialAuth
import datetime

User = get_user_model()
alice = User.objects.create_user("Alice@Example.com", "alice django pass 1", first_name="Alice",
                                 last_name="Liddell", is_staff=True)
alice.last_login = timezone.now() - datetime.timedelta(days=3)
alice.save()
bob = User.objects.create_user("bob@example.com", None, first_name="Bob")   # unusable password
carol = User.objects.create_superuser("carol@example.com", "carol django pass 2")
dave = User.objects.create_user("dave@example.com", "dave django pass 3", is_active=False)
token = Token.objects.create(user=alice)
UserSocialAuth.objects.create(user=bob, provider="github", uid=sys.argv[1], extra_data={"access_token": "gho_SECRET"})
json.dump({"alice_token": token.key, "alice_pk": alice.pk, "bob_pk": bob.pk,
           "hashes": {u.email: u.password for u in User.objects.all()}}, open(sys.argv[2], "w"))
'''

STOCK_SETUP = '''
import json, sys
from django.contrib.auth.models import User
from django.contrib.auth.hashers import make_password
from rest_framework.authtoken.models import Token
from social_django.models import UserSocialAuth

erin = User.objects.create_user("erin", "erin@example.com", "erin django pass 4")
nomail = User.objects.create_user("nomail", "", "nomail django pass 5")
s1 = User.objects.create_user("shared1", "Shared@Example.com", "shared pass 6")
s2 = User.objects.create_user("shared2", "shared@example.com", "shared pass 7")
old = User.objects.create_user("old", "old@example.com")
old.password = make_password("old md5 pass", hasher="md5")
old.save()
erin_token = Token.objects.create(user=erin)
nomail_token = Token.objects.create(user=nomail)
UserSocialAuth.objects.create(user=erin, provider="twitter", uid="12345")
UserSocialAuth.objects.create(user=s1, provider="github", uid=sys.argv[1])
json.dump({"erin_token": erin_token.key, "nomail_token": nomail_token.key, "erin_pk": erin.pk,
           "nomail_pk": nomail.pk, "shared_pks": [s1.pk, s2.pk], "old_pk": old.pk},
          open(sys.argv[2], "w"))
'''


def run(args, cwd):
    r = subprocess.run([sys.executable] + args, cwd=cwd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.stderr.write("%s failed (%d)\n%s\n%s" % (" ".join(args), r.returncode, r.stdout, r.stderr))
        sys.exit(1)
    return r.stdout


def main():
    root, kind, github_uid = sys.argv[1], sys.argv[2], sys.argv[3]
    custom = kind == "custom"
    os.makedirs(os.path.join(root, "proj"), exist_ok=True)
    open(os.path.join(root, "proj", "__init__.py"), "w").close()
    with open(os.path.join(root, "proj", "urls.py"), "w") as f:
        f.write("urlpatterns = []\n")
    with open(os.path.join(root, "proj", "settings.py"), "w") as f:
        f.write(SETTINGS.format(extra_app='"accounts",' if custom else "",
                                db=os.path.join(root, "db.sqlite3"),
                                user_model='AUTH_USER_MODEL = "accounts.User"' if custom else ""))
    if custom:
        os.makedirs(os.path.join(root, "accounts", "migrations"), exist_ok=True)
        open(os.path.join(root, "accounts", "__init__.py"), "w").close()
        open(os.path.join(root, "accounts", "migrations", "__init__.py"), "w").close()
        with open(os.path.join(root, "accounts", "models.py"), "w") as f:
            f.write(MODELS)
    with open(os.path.join(root, "manage.py"), "w") as f:
        f.write(textwrap.dedent('''
            import os, sys
            os.environ.setdefault("DJANGO_SETTINGS_MODULE", "proj.settings")
            from django.core.management import execute_from_command_line
            execute_from_command_line(sys.argv)
        '''))
    with open(os.path.join(root, "setup_data.py"), "w") as f:
        f.write(textwrap.dedent('''
            import os, sys
            sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
            os.environ.setdefault("DJANGO_SETTINGS_MODULE", "proj.settings")
            import django
            django.setup()
        ''') + (CUSTOM_SETUP if custom else STOCK_SETUP))
    if custom:
        run(["manage.py", "makemigrations", "accounts", "-v", "0"], root)
    run(["manage.py", "migrate", "-v", "0"], root)
    facts_file = os.path.join(root, "facts.json")
    run(["setup_data.py", github_uid, facts_file], root)
    dump = os.path.join(root, "dump.json")
    user_model = "accounts.user" if custom else "auth.user"
    # the models the README's dumpdata command lists, plus one gatehouse ignores (auth.group)
    run(["manage.py", "dumpdata", user_model, "auth.group", "authtoken.token",
         "social_django.usersocialauth", "--indent", "1", "--output", dump], root)
    facts = json.load(open(facts_file))
    facts["dump"] = dump
    json.dump(facts, sys.stdout)


if __name__ == "__main__":
    main()
