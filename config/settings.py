"""Settings for Technikverleih, all read from the environment.

Every variable is documented in `.env.example` and the README. Helpers fail loudly:
a production deployment (DEBUG off) refuses to start without a real SECRET_KEY.
"""

import datetime
import os
import re
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from accounts.sso_settings import oidc_providers_from, socialaccount_providers

BASE_DIR = Path(__file__).resolve().parent.parent


def env(name, default=None):
    """A string setting; a `<NAME>_FILE` variable (Docker/systemd secrets) wins over `<NAME>`."""
    file_path = os.environ.get(f"{name}_FILE")
    if file_path:
        return Path(file_path).read_text().strip()
    return os.environ.get(name, default)


def env_bool(name, default):
    value = env(name)
    if value is None or value == "":
        return default
    if value.lower() in ("1", "true", "yes", "on"):
        return True
    if value.lower() in ("0", "false", "no", "off"):
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {value!r}")


def env_rate(name, default):
    """A request rate as DRF reads it: `<number>/<second|minute|hour|day>`."""
    value = env(name) or default
    if not re.fullmatch(r"[1-9][0-9]*/(second|minute|hour|day)", value):
        raise ImproperlyConfigured(f"{name} must look like 60/minute, not {value!r}")
    return value


def env_int(name, default):
    value = env(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {value!r}") from None


def env_list(name, default):
    value = env(name)
    if value is None:
        return default
    return [part.strip() for part in value.split(",") if part.strip()]


DEBUG = env_bool("DEBUG", False)

SECRET_KEY = env("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off (see .env.example).")
    SECRET_KEY = "insecure-development-key-never-use-in-production"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

# The absolute base URL printed into QR codes and e-mails, e.g. https://verleih.example.de.
# When empty, the URL of the current request is used.
SITE_URL = env("SITE_URL", "").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.openid_connect",
    "allauth.mfa",
    "axes",
    "accounts",
    "catalog",
    "lending",
    "frontend",
    "legal",
    "notifications",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    # Django's, reading the user together with the session in one query (accounts/sessions.py).
    "accounts.sessions.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    # Staff and admins without a second factor are sent to set one up (accounts/middleware.py).
    "accounts.middleware.StaffNeedTwoFactorMiddleware",
    # Last, as its documentation asks: it answers locked-out sign-ins.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "frontend" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "frontend.context_processors.basket",
            ],
        },
    },
]

WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

# One setting for both databases: sqlite:///var/db.sqlite3 (default) or postgres://user@host/name.
DATABASE_URL = env("DATABASE_URL", f"sqlite:///{BASE_DIR / 'var' / 'db.sqlite3'}")
# Connections stay open between requests: opening one (a TCP handshake and authentication with
# PostgreSQL, the file and its pragmas with SQLite) cost more than a whole cached page. The health
# check makes a request after a database restart reconnect instead of failing.
DATABASES = {"default": dj_database_url.parse(
    DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 60), conn_health_checks=True,
)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE takes the write lock when a transaction starts, so two bookings never both read
    # and then both try to upgrade to a write lock ("database is locked"); they queue instead.
    # WAL lets pages keep reading while a booking writes.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }

# One cache for all app servers when REDIS_URL is set: it holds the one-time codes already used
# (a code must not work twice, on any server) and the rate limits of sign-in and contact form.
# Without it each process has its own memory cache, which is right for a single server.
REDIS_URL = env("REDIS_URL", "")
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    if REDIS_URL else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
}

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    # First: refuses sign-ins from a user name or address that failed too often (django-axes).
    "axes.backends.AxesStandaloneBackend",
    # Django's and allauth's, taking the user read with the session (accounts/sessions.py).
    "accounts.sessions.ModelBackend",
    "accounts.sessions.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "frontend:catalogue"
ACCOUNT_LOGOUT_REDIRECT_URL = "frontend:catalogue"
ACCOUNT_LOGIN_METHODS = {"username", "email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "username*", "password1*", "password2*"]
# Teachers are created by single sign-on or by staff, never by self-registration.
ACCOUNT_ADAPTER = "accounts.adapters.AccountAdapter"
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_LOGOUT_ON_GET = False

# Single sign-on for teachers (OpenID Connect), see accounts/sso.py and the README. OIDC_PROVIDERS
# is a JSON list (or OIDC_PROVIDERS_FILE a file holding it), one object per provider:
#   {"id": "vidis", "name": "VIDIS", "issuer": "https://…/realms/vidis", "client_id": "…",
#    "secret": "…", "mapping": "vidis"}  plus optional claim overrides (accounts/sso.py).
OIDC_PROVIDERS = oidc_providers_from(env("OIDC_PROVIDERS", "[]"))
# The German state whose teachers may sign in; VIDIS sends it as `bundesland` (e.g. "NW").
SSO_STATE = env("SSO_STATE", "NW")
SOCIALACCOUNT_ADAPTER = "accounts.adapters.SocialAccountAdapter"
SOCIALACCOUNT_PROVIDERS = socialaccount_providers(OIDC_PROVIDERS)
SOCIALACCOUNT_LOGIN_ON_GET = False  # sign-in starts with a POST (a link cannot start it)
SOCIALACCOUNT_AUTO_SIGNUP = True
SOCIALACCOUNT_EMAIL_AUTHENTICATION = False  # accounts are keyed on (provider, sub), never on e-mail
SOCIALACCOUNT_EMAIL_AUTHENTICATION_AUTO_CONNECT = False
SOCIALACCOUNT_QUERY_EMAIL = False
SOCIALACCOUNT_EMAIL_REQUIRED = False  # the sign-on may send none; teachers are asked for a contact e-mail
SOCIALACCOUNT_STORE_TOKENS = False

# Staff and admins sign in with a password and a time-based one-time code (allauth MFA).
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
# A one-time code used twice within its 30 seconds is refused with its own message (accounts/mfa_forms.py).
MFA_FORMS = {"authenticate": "accounts.mfa_forms.AuthenticateForm",
             "reauthenticate": "accounts.mfa_forms.ReauthenticateForm"}
MFA_TOTP_ISSUER = env("MFA_TOTP_ISSUER", "Technikverleih")

# django-axes: after AXES_FAILURE_LIMIT failed sign-ins for one user name from one address, that
# pair is locked for AXES_COOLOFF_MINUTES.
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = datetime.timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_USERNAME_FORM_FIELD = "login"
# allauth passes username= or email= to authenticate(), never login= (accounts/lockout.py).
AXES_USERNAME_CALLABLE = "accounts.lockout.login_name"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "account/locked_out.html"
# Behind the TLS proxy every request comes from the proxy's address: the visitor's is the last
# entry the proxy added to X-Forwarded-For (accounts/lockout.py); allauth's rate limits likewise.
TRUSTED_PROXY_COUNT = 1 if env_bool("BEHIND_TLS_PROXY", False) else 0
AXES_CLIENT_IP_CALLABLE = "accounts.lockout.client_ip"
ALLAUTH_TRUSTED_PROXY_COUNT = TRUSTED_PROXY_COUNT
# Successful sign-ins are not logged (personal data without a purpose); failures are, until reset.
AXES_DISABLE_ACCESS_LOG = True

LANGUAGE_CODE = "de"
LANGUAGES = [("de", _("German")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Europe/Berlin"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = Path(env("STATIC_ROOT", str(BASE_DIR / "var" / "static")))
STATICFILES_DIRS = [BASE_DIR / "frontend" / "static"]
# Uploaded item pictures; served by the app itself (frontend.views.media), never by a third party.
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env("MEDIA_ROOT", str(BASE_DIR / "var" / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# Pictures uploaded in the admin are re-encoded; these are the limits for accepting one.
PICTURE_MAX_BYTES = env_int("PICTURE_MAX_BYTES", 8 * 1024 * 1024)
PICTURE_MAX_PIXELS = env_int("PICTURE_MAX_PIXELS", 40_000_000)
PICTURE_MAX_SIDE = env_int("PICTURE_MAX_SIDE", 1600)
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

EMAIL_BACKEND = env("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "technikverleih@localhost")
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 30)
EMAIL_FILE_PATH = env("EMAIL_FILE_PATH", str(BASE_DIR / "var" / "mail"))  # for the file backend (`make run`)
# The mail queue (notifications/delivery.py): how often a refused mail is tried, the first wait
# (doubling after each attempt, at most 6 h), after how long a mail whose worker stopped while
# sending is given up (it may have arrived), and how long sent and failed mails are kept.
MAIL_MAX_ATTEMPTS = env_int("MAIL_MAX_ATTEMPTS", 8)
MAIL_RETRY_SECONDS = env_int("MAIL_RETRY_SECONDS", 60)
MAIL_SENDING_TIMEOUT_SECONDS = env_int("MAIL_SENDING_TIMEOUT_SECONDS", 600)
MAIL_RETENTION_DAYS = env_int("MAIL_RETENTION_DAYS", 90)
# Reminders (notifications/reminders.py, `manage.py send_reminders`): the pickup reminder this many
# working days before the pickup, the return reminder this many days before the return day, and
# overdue notices the day after the return day and then every this many days.
MAIL_PICKUP_REMINDER_DAYS = env_int("MAIL_PICKUP_REMINDER_DAYS", 1)
MAIL_RETURN_REMINDER_DAYS = env_int("MAIL_RETURN_REMINDER_DAYS", 2)
# How long units offered to the next teacher on the waiting list are held for her (lending/waitlist.py).
WAITLIST_OFFER_HOURS = env_int("WAITLIST_OFFER_HOURS", 24)
MAIL_OVERDUE_REPEAT_DAYS = env_int("MAIL_OVERDUE_REPEAT_DAYS", 7)
# A teacher is told this many days before a qualification that some items require runs out; the
# counter staff's digest of a counter day goes out from this hour (local time) the evening before.
MAIL_QUALIFICATION_NOTICE_DAYS = env_int("MAIL_QUALIFICATION_NOTICE_DAYS", 30)
MAIL_DIGEST_HOUR = env_int("MAIL_DIGEST_HOUR", 17)
# A teacher whose booking is at risk from an overdue loan is told when its pickup is this many days ahead or fewer.
MAIL_AT_RISK_DAYS = env_int("MAIL_AT_RISK_DAYS", 7)

SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SESSION_COOKIE_HTTPONLY = True
# Database sessions whose row names the user, read with it in one query (accounts/sessions.py).
SESSION_ENGINE = "accounts.sessions"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if env_bool("BEHIND_TLS_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

REST_FRAMEWORK = {
    # Personal tokens for staff scripts first, the session (with CSRF) for the web app.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.api_auth.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        "accounts.api_auth.TokenScope",
    ],
    "DEFAULT_THROTTLE_CLASSES": ["accounts.api_auth.AnonymousThrottle", "accounts.api_auth.TokenThrottle"],
    # Requests per address (anonymous) and per token; counted in the cache (REDIS_URL for several servers).
    "DEFAULT_THROTTLE_RATES": {
        "anon": env_rate("API_THROTTLE_ANONYMOUS", "60/minute"),
        "token": env_rate("API_THROTTLE_TOKEN", "600/minute"),
    },
    # Scripts and the web app send JSON; one body format keeps the schema and the checks simple.
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "lending.api.api_exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Technikverleih API",
    "DESCRIPTION": "Booking and counter API of the Technikverleih. Scripts of counter staff send a personal "
                   "token from *My account* as `Authorization: Bearer tv_…`; the web app its session and CSRF "
                   'token. Refusals: {"code": "...", "detail": "...", "fields": {...}} with 400, 403, 404 or '
                   "409, and 429 with Retry-After when too many requests came. Lists are paginated "
                   "(`page`, `page_size` up to 200).",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # A PATCH body's required fields stay required in the schema (settling needs a resolution).
    "COMPONENT_SPLIT_PATCH": False,
    # Swagger UI from the drf-spectacular-sidecar package, served as our own static files.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "lending.api_schema.add_common_responses",
    ],
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # Calendar feed URLs carry a secret token: log /kalender/… instead (config/log_filters.py).
    "filters": {"redact_calendar_tokens": {"()": "config.log_filters.RedactCalendarTokens"}},
    "formatters": {
        "django.server": {"()": "django.utils.log.ServerFormatter", "format": "[{server_time}] {message}", "style": "{"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "filters": ["redact_calendar_tokens"]},
        "django.server": {
            "class": "logging.StreamHandler", "formatter": "django.server", "filters": ["redact_calendar_tokens"],
        },
    },
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        # On the logger itself, so every handler (console, mail to ADMINS, test capture) gets the
        # redacted record.
        "django.request": {"filters": ["redact_calendar_tokens"]},
        # runserver's request lines: Django's own handler has no filter, so it is replaced here.
        "django.server": {"handlers": ["django.server"], "level": "INFO", "propagate": False},
    },
}

# The German state whose public and school holidays `import_holidays` uses by default.
HOLIDAYS_STATE = env("HOLIDAYS_STATE", "NW")


# --- Personal data and legal pages (issue 4: accounts/services.py, legal/) ---------------------
# Days after a loan ended (returned, cancelled, not picked up) until `manage.py purge_personal_data`
# removes the link to the person; open damage cases keep it until settled (DSGVO art. 5(1)(e)).
PERSONAL_DATA_RETENTION_DAYS = env_int("PERSONAL_DATA_RETENTION_DAYS", 365)
if PERSONAL_DATA_RETENTION_DAYS < 0:
    raise ImproperlyConfigured("PERSONAL_DATA_RETENTION_DAYS must not be negative.")
# Where the contact form of the accessibility statement sends reports of barriers (BITV NRW).
ACCESSIBILITY_CONTACT_EMAIL = env("ACCESSIBILITY_CONTACT_EMAIL", "") or DEFAULT_FROM_EMAIL
# --- end personal data and legal pages ---------------------------------------------------------


# --- HTTPS and security headers (issue 11: config/security_headers.py) -------------------------
# Served over TLS (SITE_URL https://… or a TLS proxy in front) and not in development: plain HTTP
# is redirected to HTTPS, and browsers are told (HSTS) to use nothing but HTTPS for this host for a
# year. A browser keeps that promise for the whole max-age even if HTTPS breaks, so a first rollout
# may start with SECURE_HSTS_SECONDS=300 and raise it once every page works over HTTPS (README).
# Behind a proxy the redirect needs BEHIND_TLS_PROXY=true, or every request looks like plain HTTP.
SERVED_OVER_TLS = (SITE_URL.startswith("https://") or env_bool("BEHIND_TLS_PROXY", False)) and not DEBUG
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", SERVED_OVER_TLS)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 365 * 24 * 60 * 60 if SERVED_OVER_TLS else 0)
if SECURE_HSTS_SECONDS < 0:
    raise ImproperlyConfigured("SECURE_HSTS_SECONDS must not be negative.")
# Both reach beyond this portal (every subdomain of its host; the browsers' built-in list, which
# takes months to leave), so they are the operator's choice: off unless set, and `check --deploy`
# is not asked to nag about them (W005, W021).
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
SILENCED_SYSTEM_CHECKS = ["security.W005", "security.W021"]
# Content-Security-Policy and Permissions-Policy on every response, the static files included.
MIDDLEWARE.insert(MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1,
                  "config.security_headers.SecurityHeadersMiddleware")
# JSON only: DRF's browsable API pages carry inline styles the policy refuses; people read the
# API at /api/docs/ (Swagger UI).
REST_FRAMEWORK["DEFAULT_RENDERER_CLASSES"] = ["rest_framework.renderers.JSONRenderer"]
# Swagger UI's default would show a badge loaded from validator.swagger.io.
SPECTACULAR_SETTINGS["SWAGGER_UI_SETTINGS"] = {"deepLinking": True, "validatorUrl": None}
# --- end HTTPS and security headers -------------------------------------------------------------
