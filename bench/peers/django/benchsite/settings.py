"""
Settings of the Django + DRF peer: the stack of the article gatehouse
re-implements (B. Caffey, 2020), configured as that article configures it —
custom user model logging in by email, SessionAuthentication +
TokenAuthentication, ensure_csrf_cookie, SQLite — with production switches
(DEBUG off) so the comparison is fair.  Only bench/run starts it, on
127.0.0.1, with BENCH_DJANGO_DB pointing into a temporary directory.
"""
import os

# a throw-away key: this site only ever runs inside `make bench`
SECRET_KEY = os.environ.get("BENCH_DJANGO_SECRET", "bench-only-not-a-secret-" + "x" * 40)
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "rest_framework",
    "rest_framework.authtoken",
    "accounts",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "benchsite.urls"
WSGI_APPLICATION = "benchsite.wsgi.application"
TEMPLATES = []

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        # bench/run sets it; the fallback only serves `manage.py makemigrations`
        "NAME": os.environ.get("BENCH_DJANGO_DB", ":memory:"),
    }
}

AUTH_USER_MODEL = "accounts.User"

# The same password work as gatehouse: Argon2id, m = 19 MiB, t = 2, p = 1
# (accounts.hashers); PBKDF2 stays listed so other hashes still verify.
PASSWORD_HASHERS = [
    "accounts.hashers.GatehouseArgon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
}

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = False

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"stderr": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["stderr"], "level": "WARNING"},
}
