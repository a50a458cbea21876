"""Wenji settings: one module, driven by environment variables (see .env.example).

With nothing set, a laptop gets SQLite, Celery tasks run in-process and DEBUG off; the
README's run command sets DEBUG=true. DATABASE_URL and REDIS_URL switch on PostgreSQL and
a real broker.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from config.env import (
    env_bool,
    env_choice,
    env_int,
    env_list,
    env_str,
    env_url,
    parse_database_url,
)

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", False)

SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set unless DEBUG=true")
    SECRET_KEY = "django-insecure-local-development-only-key-do-not-use-in-production"

# Respondent identities (WeChat openid, device id, collector keys) and IP addresses are kept
# only as HMACs under this key, never raw. Rotating it breaks duplicate detection across the
# rotation, so it is separate from SECRET_KEY (which may be rotated freely).
IDENTITY_HASH_KEY = env_str("IDENTITY_HASH_KEY")
if not IDENTITY_HASH_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("IDENTITY_HASH_KEY must be set unless DEBUG=true")
    IDENTITY_HASH_KEY = "local-development-identity-key"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "import_export",
    "survey",
    "analysis",
    "exports",
    "studio",
    "demo",
    "axes",
]

MIDDLEWARE = [
    # Outermost, so every response carries the policy, redirects and /healthz included.
    "config.middleware.ContentSecurityPolicyMiddleware",
    # Before SecurityMiddleware: probes call http://127.0.0.1:8000/healthz (see the class).
    "config.middleware.HealthCheckMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "config.middleware.StaticGZipMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    # Before anything reads the path or the fields into a query (a NUL would be a 500).
    "config.middleware.UnstorableTextMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: it answers a locked-out login with the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL")
DATABASES = {
    "default": parse_database_url(DATABASE_URL)
    if DATABASE_URL
    else {"ENGINE": "django.db.backends.sqlite3", "NAME": BASE_DIR / "db.sqlite3"}
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # WAL lets the form keep writing while a job reads; the timeout rides out short locks.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis, cache and Celery -------------------------------------------------------------
REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "wenji.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "wenji",
            # A Redis that is down must cost a request milliseconds, not a hang.
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 2},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None  # job state lives in database rows (AnalysisRun, Export)
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = True
# Without a worker (eager), run analysis and export jobs in a thread of the web process, so
# that a page follows their progress (``wenji up`` turns it on; see wenji/background.py).
JOBS_IN_THREADS = env_bool("JOBS_IN_THREADS", False)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {"socket_connect_timeout": 2, "socket_timeout": 5}
CELERY_TIMEZONE = "UTC"

# --- Analysis ----------------------------------------------------------------------------
# New data triggers an analysis run at once, then at most once more per this many seconds
# (delayed to the window's end: a change is never left without a run after it).
ANALYSIS_DEBOUNCE_SECONDS = env_int("ANALYSIS_DEBOUNCE_SECONDS", 1, minimum=1)
# Celery beat runs the catch-up (stale runs, missed triggers, unanalysed data) this often.
ANALYSIS_SCHEDULE_MINUTES = env_int("ANALYSIS_SCHEDULE_MINUTES", 5, minimum=1)
# A running run whose heartbeat is older than this lost its worker: requeued or failed. A
# thread beats every quarter of it while any step runs, however long the step.
ANALYSIS_STALE_SECONDS = env_int("ANALYSIS_STALE_SECONDS", 45, minimum=2)
# Celery beat looks for stale runs this often: a run whose worker died is taken up again
# within ANALYSIS_STALE_SECONDS + ANALYSIS_REAP_SECONDS (60 s by default).
ANALYSIS_REAP_SECONDS = env_int("ANALYSIS_REAP_SECONDS", 15, minimum=1)
# Each Celery worker marks itself alive this often; /readyz counts the marks of the last
# three periods (wenji/workers.py).
WORKER_ALIVE_SECONDS = env_int("WORKER_ALIVE_SECONDS", 10, minimum=1)
# Response ids per aggregation chunk (one Celery task each in a full run): a chunk is a fixed
# range of ids, kept between runs, so new data recomputes only the chunks it falls in.
ANALYSIS_CHUNK_SIZE = env_int("ANALYSIS_CHUNK_SIZE", 25000, minimum=1)
# New data is analysed by recomputing only the chunks it changed (live results) for this long
# after a full run; then the next run is a full one again, which re-judges every response.
ANALYSIS_FULL_EVERY_SECONDS = env_int("ANALYSIS_FULL_EVERY_SECONDS", 3600, minimum=0)
# The results page and API compute filtered results live up to this many valid responses.
RESULTS_FILTER_MAX_RESPONSES = env_int("RESULTS_FILTER_MAX_RESPONSES", 100000, minimum=1)
# A run interrupted (lost worker, database or broker hiccup) is tried this many times in all.
ANALYSIS_MAX_ATTEMPTS = env_int("ANALYSIS_MAX_ATTEMPTS", 3, minimum=1)
# Finished runs keep their results document for the newest this many per questionnaire.
ANALYSIS_KEEP_RESULTS = env_int("ANALYSIS_KEEP_RESULTS", 20, minimum=1)
# Tests only: each chunk task sleeps this many milliseconds, so a run can be caught mid-way.
ANALYSIS_TEST_CHUNK_DELAY_MS = env_int("ANALYSIS_TEST_CHUNK_DELAY_MS", 0, minimum=0)
# A chord (the parallel chunks and their merge) needs a result backend: Redis when there is one.
CELERY_RESULT_BACKEND = REDIS_URL or None
CELERY_RESULT_EXPIRES = 3600

# --- Passwords and auth ------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "admin:login"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # refuses a locked-out account or address first
    "django.contrib.auth.backends.ModelBackend",
]
# Password guessing: after LOGIN_FAILURE_LIMIT failures for one account, or from one address,
# logins are refused for LOGIN_COOLOFF_MINUTES (an admin can unlock sooner: the Axes pages of
# the admin, or `manage.py axes_reset_username NAME`). Addresses are stored only as keyed
# pseudonyms (wenji.hashing.address_pseudonym), never as the raw address.
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 10, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("LOGIN_COOLOFF_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "wenji.hashing.request_address_pseudonym"
AXES_DISABLE_ACCESS_LOG = True  # no row per successful login (it would keep user agents)
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False

# --- Languages and time -------------------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
USE_TZ = True  # stored in UTC
TIME_ZONE = env_str("TIME_ZONE", "Asia/Shanghai")  # how times are shown

# --- Static files: hashed names, compressed, long-lived cache headers ---------------------
STATIC_URL = "/static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT") or BASE_DIR / "staticfiles")
# Git keeps no empty directory: until the project ships assets of its own, a fresh clone has
# no static/, and listing a missing directory fails `check --deploy` (staticfiles.W004).
STATICFILES_DIRS = [path for path in [BASE_DIR / "static"] if path.is_dir()]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "config.storage.StaticStorage"},
}
MEDIA_ROOT = Path(env_str("MEDIA_ROOT") or BASE_DIR / "media")
MEDIA_URL = "/media/"
# Content-hashed names (collectstatic's manifest) are cached for good as immutable; the plain
# names of a DEBUG run (wenji up, no collectstatic) are revalidated instead, so an upgrade
# never leaves a phone on an old script.
WHITENOISE_MAX_AGE = 0 if DEBUG else 31536000

# --- Security ----------------------------------------------------------------------------
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
if env_bool("SECURE_PROXY_SSL_HEADER", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
SESSION_COOKIE_HTTPONLY = True
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
# Opt-in: once browsers preload the domain, leaving the list takes months.
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Every page and asset comes from our own host: mainland-China networks cannot reach the
# usual CDNs, and a policy that names only 'self' keeps it that way.
CONTENT_SECURITY_POLICY = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "data:"],
    "font-src": ["'self'"],
    "connect-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
}

# --- Submissions -------------------------------------------------------------------------
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("MAX_SUBMISSION_BYTES", 256 * 1024, minimum=1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
QUESTIONNAIRE_UPLOAD_MAX_BYTES = env_int(
    "QUESTIONNAIRE_UPLOAD_MAX_BYTES", 2 * 1024 * 1024, minimum=1024
)

# --- WeChat (not used yet) -----------------------------------------------------------------
WECHAT_APP_ID = env_str("WECHAT_APP_ID")
WECHAT_APP_SECRET = env_str("WECHAT_APP_SECRET")
# Overridable so tests can point the client at a local fake server.
WECHAT_API_BASE = env_url("WECHAT_API_BASE", "https://api.weixin.qq.com")

# --- REST API ----------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "wenji.api.authentication.TokenRolesAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "wenji.api.errors.api_exception_handler",
    # The client address for rate limits and IP hashes: the same trusted-proxy count as the
    # form's (TRUSTED_PROXY_COUNT, below); with 0, X-Forwarded-For is ignored (not spoofable).
    "NUM_PROXIES": env_int("TRUSTED_PROXY_COUNT", 0, minimum=0),
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Wenji API",
    "DESCRIPTION": "Questionnaires, submissions and results of the Wenji survey platform.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # No online-validator badge: it would send the schema URL to swagger.io (and the CSP
    # refuses the image anyway).
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "ResponseStatusEnum": "survey.models.Response.Status",
        "QuestionnaireStatusEnum": "survey.models.Questionnaire.Status",
        "ResponseChannelEnum": "survey.models.Response.Channel",
    },
}

# --- Logging: to stderr, never with raw identities ----------------------------------------
_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_choice("LOG_LEVEL", "INFO", _LOG_LEVELS)},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}


# --- API ---------------------------------------------------------------------------------
def _env_rate(name: str, default: str) -> str:
    """A throttle rate: a positive count per second, minute, hour or day ("30/minute")."""
    value = env_str(name, default)
    if not re.fullmatch(r"[1-9][0-9]*/(second|minute|hour|day)", value):
        raise ImproperlyConfigured(f"{name} must look like 30/minute, got {value!r}")
    return value


# Submissions per collector account; definition reads per account, or per IP when anonymous.
SUBMIT_RATE_LIMIT = _env_rate("SUBMIT_RATE_LIMIT", "30/minute")
DEFINITION_RATE_LIMIT = _env_rate("DEFINITION_RATE_LIMIT", "120/minute")
# Wrong API tokens per (hashed) client address; past it the address is refused (429).
API_TOKEN_FAILURE_LIMIT = _env_rate("API_TOKEN_FAILURE_LIMIT", "20/hour")
# How long a token's user and roles are remembered in the cache (wenji.api.token_cache); every
# revocation, deactivation and role change drops them at once, this bounds a missed one.
API_TOKEN_CACHE_SECONDS = env_int("API_TOKEN_CACHE_SECONDS", 60, minimum=0)

# --- Respondent form and WeChat ------------------------------------------------------------
# WECHAT_APP_ID, WECHAT_APP_SECRET and WECHAT_API_BASE are above; with both of the first two
# set, the form identifies respondents inside WeChat by openid and configures the share card.
WECHAT_OPEN_BASE = env_url("WECHAT_OPEN_BASE", "https://open.weixin.qq.com")
# How long a form may stay open before its start token (start time, submission id) expires.
FORM_START_TOKEN_MAX_AGE = env_int("FORM_START_TOKEN_MAX_AGE", 3 * 24 * 3600, minimum=60)
# Reverse proxies in front of the app that append to X-Forwarded-For. 0: use REMOTE_ADDR only,
# since without a proxy that rewrites it the header is whatever the client wrote.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0, minimum=0)

# --- Exports -------------------------------------------------------------------------------
# Export files (XLSX, SAV, CSV made as a job) live under MEDIA_ROOT/exports for this long.
EXPORT_RETENTION_HOURS = env_int("EXPORT_RETENTION_HOURS", 24, minimum=1)
# pyreadstat writes a .sav from a whole DataFrame in memory: larger SPSS exports are refused
# with a message suggesting CSV. ~2.8 KB per response of the reference questionnaire: 250,000
# responses peak at ~700 MB (bench/export/README.md).
EXPORT_SAV_MAX_ROWS = env_int("EXPORT_SAV_MAX_ROWS", 250000, minimum=1)
# Responses per statement of the wide CSV made by PostgreSQL (a page of lines held at a time).
EXPORT_PAGE_SIZE = env_int("EXPORT_PAGE_SIZE", 10000, minimum=1)
# Responses fetched per round trip while an export streams (server-side cursor on PostgreSQL).
EXPORT_CHUNK_SIZE = env_int("EXPORT_CHUNK_SIZE", 2000, minimum=1)
# PostgreSQL: the wide CSV's cells of each response are stored once made (exports.cells, kept
# by a job after each analysis run) and read back by the next exports; off, every export makes
# them from the answers again. Pages of EXPORT_STORE_PAGE responses are stored per statement.
EXPORT_STORED_CELLS = env_bool("EXPORT_STORED_CELLS", True)
EXPORT_STORE_PAGE = env_int("EXPORT_STORE_PAGE", 10000, minimum=1)
# A storing task sends the rest of its pass as a new task rather than run a page that would
# end past this many seconds (at least one page a task).
EXPORT_STORE_SLICE_SECONDS = env_int("EXPORT_STORE_SLICE_SECONDS", 1, minimum=0)
