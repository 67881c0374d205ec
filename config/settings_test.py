"""Test settings: the normal settings with fast hashing and a file SQLite database.

A file (not in-memory) SQLite database lets the concurrency tests open one connection per
thread, as a real deployment does. Set DATABASE_URL to run the same suite on PostgreSQL.
"""

import os

os.environ.setdefault("DEBUG", "true")
os.environ.setdefault("SECRET_KEY", "test-only-secret")

from config.settings import *  # noqa: E402,F403
from config.settings import BASE_DIR, DATABASES  # noqa: E402

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
MEDIA_ROOT = BASE_DIR / "var" / "test-media"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Each test closes its connections, as Django's own test runner expects (a connection kept open by
# a live server thread would keep PostgreSQL from dropping the test database).
DATABASES["default"]["CONN_MAX_AGE"] = 0
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # One file per test process (pytest-xdist adds _gw0, _gw1 per worker), so two test runs in
    # one checkout never share a database; pytest-django deletes it at the end of the run.
    DATABASES["default"]["TEST"] = {"NAME": str(BASE_DIR / "var" / f"test-db-{os.getpid()}.sqlite3")}
SITE_URL = "http://testserver"
AXES_VERBOSE = False  # no banner and no per-attempt log lines in the test output
