"""Django settings: SQLite in a local data folder by default; PostgreSQL when a URL names one."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import dj_database_url

DATA_DIR = Path(os.environ.get("POSTROOM_DATA_DIR", "data")).expanduser().resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)
BLOB_DIR = DATA_DIR / "blobs"


def _secret_key() -> str:
    """Kept in the data folder (mode 0600) so sessions and encrypted passwords survive restarts."""
    if key := os.environ.get("POSTROOM_SECRET_KEY"):
        return key
    path = DATA_DIR / "secret.key"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = os.environ.get("POSTROOM_DEBUG") == "1"
# The web interface answers to these host names; more (comma-separated) for a public name behind a proxy.
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "[::1]"] + [
    h.strip() for h in os.environ.get("POSTROOM_ALLOWED_HOSTS", "").split(",") if h.strip()
]

ROOT_URLCONF = "postroom.project.urls"
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "postroom.mailboxes",
    "postroom.people",
    "postroom.records",
    "postroom.outgoing",
    "postroom.hooks",
    "postroom.web",
]

# The web interface (web/): sessions and CSRF as Django recommends; our pages run no script at all, and
# say so in their Content-Security-Policy (web/security.py), so mail HTML can't run any either.
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "postroom.web.security.ContentSecurityPolicy",
]
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "postroom.web.context.person",
            ]
        },
    }
]
STATIC_URL = "static/"  # no static files (styles are inline); Django's test live server wants one
LOGIN_URL = "/login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/login"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = 14 * 24 * 3600
CSRF_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = os.environ.get("POSTROOM_HTTPS") == "1"  # behind TLS
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
DATA_UPLOAD_MAX_MEMORY_SIZE = 32 * 1024 * 1024  # a reply's attachments

_url = os.environ.get("POSTROOM_DATABASE_URL") or os.environ.get("DATABASE_URL")
if _url:
    DATABASES = {"default": dj_database_url.parse(_url, conn_max_age=600)}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(DATA_DIR / "postroom.sqlite3"),
            # WAL lets `postroom records list` read while `postroom run` writes; a busy timeout rather than
            # "database is locked" when two commands write at once. SQLite's default page cache (2 MB):
            # 16 MB read a tenth of the pages, but grew the importer with the mailbox (memory target).
            "OPTIONS": {
                "timeout": 30,
                "transaction_mode": "IMMEDIATE",
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
        }
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
TIME_ZONE = "UTC"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "loggers": {"postroom": {"handlers": ["stderr"], "level": os.environ.get("POSTROOM_LOG_LEVEL", "INFO")}},
}
