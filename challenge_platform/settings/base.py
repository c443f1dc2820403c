"""Settings shared by every environment; values come from environment variables
(docs/architecture.md §8)."""

from __future__ import annotations

import os
import socket
from datetime import timedelta
from pathlib import Path

import dj_database_url

from challenges.accounts.oidc_settings import (
    PROVIDER_ID,
    form_action_sources,
    openid_connect_providers,
)
from common.rates import parse_rate
from runtime.localredis import embedded_redis_url

BASE_DIR = Path(__file__).resolve().parent.parent.parent


def env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def env_int(name: str, default: int) -> int:
    return int(env(name, str(default)))


DATA_DIR = Path(env("DATA_DIR", str(BASE_DIR / "var"))).resolve()
MEDIA_ROOT = DATA_DIR / "media"
PRIVATE_ROOT = DATA_DIR / "private"
STATIC_ROOT = DATA_DIR / "static"

SECRET_KEY = env("SECRET_KEY")
DEBUG = False
ALLOWED_HOSTS: list[str] = []

INSTALLED_APPS = [
    # Django's admin, whose site's "change password" page revokes API tokens (issue 39) and
    # whose admin modules are imported when the console is first used (not at every process's
    # start): challenges/admin_site.py.
    "challenges.admin_site.ConsoleAdminConfig",
    # Before django.contrib.auth: its changepassword command revokes the account's API tokens
    # too (Django runs the first app's command of a name).
    "challenges.accounts.apps.AccountsConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    # DRF's clear-text tokens: kept installed only so its table's migrations stay whole; the
    # data migration challenge_platform 0007 hashed its keys into knox and emptied it.
    "rest_framework.authtoken",
    "knox",  # API tokens stored as digests (challenges.tokens)
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI served from our own static files (no CDN)
    # The job lifecycle and the Celery app (below every app that runs jobs).
    "jobs",
    # Before allauth, so its pages use the site's layout (templates/allauth/layouts/base.html).
    # Its migrate command first renames a database of the old label (challenges/relabel.py).
    "challenges.apps.ChallengesConfig",
    "runtime",  # the local runtime: the runplatform command (no models)
    "allauth",
    "allauth.account",
    # allauth.socialaccount, its provider registry loaded by the URL configuration, not at
    # start (challenges/accounts/apps.py says why).
    "challenges.accounts.apps.SocialAccountsConfig",
    "allauth.socialaccount.providers.openid_connect",
    "kinds",  # the task kinds: pure modules, listed for their templates (kinds/templates)
    "datasets",
    "scoring",
    "leaderboard",
    "operations",
    "algorithms",
    "standings",
    "notifications",
    "discussion",  # threads of questions and answers per challenge and task
    "site_pages",  # pages composed of several apps' parts (the top layer)
]

MIDDLEWARE = [
    # Public boards for readers without cookie or credentials, kept with the headers every
    # other middleware adds, and answered from one Redis round trip (leaderboard/cache/fastpath.py;
    # in front of Django by WSGI_MIDDLEWARE below).
    "leaderboard.cache.fastpath.BoardFastPathMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "challenges.middleware.ContentSecurityPolicyMiddleware",
    "challenges.middleware.RejectNulCharactersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    # Upload refusals (limit, team, size) before CSRF reads the body (scoring.admission).
    "scoring.admission.UploadAdmissionMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "challenges.middleware.WebThrottleMiddleware",
    "challenges.middleware.RulesGateMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "challenge_platform.urls"
WSGI_APPLICATION = "challenge_platform.wsgi.application"
# WSGI wrappers around Django's application in challenge_platform/wsgi.py, outermost first
# (named here, like MIDDLEWARE, so that the platform core imports no app): the boards' fast
# path answers anonymous reads before Django's request handling.
WSGI_MIDDLEWARE = ["leaderboard.cache.fastpath.BoardFastPathApp"]
# Called by each web server worker once it loaded the application (gunicorn's
# post_worker_init): imports what the boards' computations need on their first run.
SERVER_PRELOAD = ["leaderboard.cache.prerender.preload"]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# Connections are kept for a minute; each request or task checks a reused one first
# (CONN_HEALTH_CHECKS), so a database restart costs a reconnect, not a 500 per web worker.
DATABASES = {
    "default": dj_database_url.parse(
        env("DATABASE_URL", f"sqlite:///{DATA_DIR / 'db.sqlite3'}"),
        conn_max_age=60,
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # A cut network link must fail a query in seconds, not after the kernel's ~15 minutes of
    # retransmissions (a job would hold its row that long): a connection attempt gives up
    # after 5 s, data the server does not acknowledge within 10 s breaks the connection
    # (tcp_user_timeout), and an idle connection whose server vanished is found by
    # keepalives within ~11 s. A long query is not cut: waiting for its answer sends nothing
    # unacknowledged, and the server's kernel answers the keepalives
    # (docs/decisions/0058-nothing-lost-when-faults-overlap.md).
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "connect_timeout": env_int("DATABASE_CONNECT_TIMEOUT", 5),
            "tcp_user_timeout": env_int("DATABASE_TCP_USER_TIMEOUT_MS", 10_000),
            "keepalives": 1,
            "keepalives_idle": 5,
            "keepalives_interval": 2,
            "keepalives_count": 3,
        }
    )
# A web request that lost the database before committing anything (a restart, its
# connections killed) is run again once the database answers (runtime/wsgi_retry.py):
# at most DATABASE_RETRIES times, waiting at most DATABASE_RETRY_SECONDS each time.
DATABASE_RETRIES = env_int("DATABASE_RETRIES", 2)
DATABASE_RETRY_SECONDS = float(env("DATABASE_RETRY_SECONDS", "15"))
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web server read while a worker writes; the timeout rides out short locks.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"


def env_list(name: str) -> list[str]:
    """A comma-separated variable as a list of lower-case, stripped values."""
    return [v.strip().lower() for v in (env(name, "") or "").split(",") if v.strip()]


# Accounts (docs/architecture.md §10;
# docs/decisions/0012-accounts-allauth-oidc-and-one-backend.md "Accounts"). The password login stays
# Django's LoginView (username + password, the demo accounts); django-allauth adds local sign-up
# with e-mail verification, password reset and OpenID Connect sign-in.
AUTHENTICATION_BACKENDS = ["challenges.accounts.backends.VerifiedEmailBackend"]
SITE_URL = (env("SITE_URL", "http://127.0.0.1:8000") or "").rstrip("/")  # links in mails
LOCAL_SIGNUP_ENABLED = env("LOCAL_SIGNUP_ENABLED", "1") == "1"
SIGNUP_ALLOWED_EMAIL_DOMAINS = env_list("SIGNUP_ALLOWED_EMAIL_DOMAINS")  # empty: any domain
OIDC_ISSUER_URL = env("OIDC_ISSUER_URL")
OIDC_CLIENT_ID = env("OIDC_CLIENT_ID")
OIDC_CLIENT_SECRET = env("OIDC_CLIENT_SECRET", "")
OIDC_ALLOWED_EMAIL_DOMAINS = env_list("OIDC_ALLOWED_EMAIL_DOMAINS")  # empty: any domain
OIDC_BUTTON_LABEL = env("OIDC_BUTTON_LABEL", "Sign in with your organization")
OIDC_ENABLED = bool(OIDC_ISSUER_URL and OIDC_CLIENT_ID) and env("OIDC_ENABLED", "1") == "1"
OIDC_PROVIDER_ID = PROVIDER_ID
SOCIALACCOUNT_PROVIDERS = openid_connect_providers(
    issuer=OIDC_ISSUER_URL if OIDC_ENABLED else None,
    client_id=OIDC_CLIENT_ID,
    secret=OIDC_CLIENT_SECRET or "",
    label=OIDC_BUTTON_LABEL or "",
)
ACCOUNT_ADAPTER = "challenges.accounts.adapters.AccountAdapter"
SOCIALACCOUNT_ADAPTER = "challenges.accounts.adapters.SocialAccountAdapter"
ACCOUNT_LOGIN_METHODS = {"username"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "username*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_CONFIRM_EMAIL_ON_GET = False  # a mail scanner opening the link confirms nothing
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_EMAIL_CONFIRMATION_EXPIRE_DAYS = 3
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[Challenge] "
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "https" if env("SITE_URL", "").startswith("https") else "http"
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
SOCIALACCOUNT_AUTO_SIGNUP = True
SOCIALACCOUNT_EMAIL_VERIFICATION = "none"  # the organization's provider vouches for it
SOCIALACCOUNT_EMAIL_AUTHENTICATION = False  # never attach a login to an account by e-mail
SOCIALACCOUNT_LOGIN_ON_GET = False  # the sign-in button POSTs (CSRF-protected)
SOCIALACCOUNT_STORE_TOKENS = False

# Mail (also used by notifications): SMTP when EMAIL_HOST is set, else one file per message
# under DATA_DIR/mail (the run command prints the folder). EMAIL_BACKEND overrides both.
EMAIL_HOST = env("EMAIL_HOST", "")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env("EMAIL_USE_TLS", "0") == "1"
EMAIL_USE_SSL = env("EMAIL_USE_SSL", "0") == "1"
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 20)
EMAIL_FILE_PATH = str(DATA_DIR / "mail")
EMAIL_BACKEND = env(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "django.core.mail.backends.filebased.EmailBackend",
)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "Challenge platform <challenge@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
MEDIA_URL = "/media-not-served/"  # media is never served directly; views stream what a user may see

STORAGES = {
    "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(MEDIA_ROOT)},
    },
    "private": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(PRIVATE_ROOT)},
    },
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
if env("STORAGE_BACKEND", "local") == "s3":
    _s3 = {
        "bucket_name": env("AWS_STORAGE_BUCKET_NAME", "challenge"),
        "endpoint_url": env("AWS_S3_ENDPOINT_URL"),
        "region_name": env("AWS_S3_REGION_NAME", "us-east-1"),
        "default_acl": None,
        "querystring_auth": True,
        "file_overwrite": False,
    }
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {**_s3, "location": "media"},
    }
    STORAGES["private"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {**_s3, "location": "private"},
    }

# Stored files (uploads, task data, solutions, submissions, write-ups) are the platform
# account's alone on a local disk: Django's default would make them 0644.
FILE_UPLOAD_PERMISSIONS = 0o600
FILE_UPLOAD_DIRECTORY_PERMISSIONS = 0o700

# Uploads: Django keeps at most this much in memory, larger files stream to a temp file.
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
SUBMISSION_MAX_BYTES = env_int("SUBMISSION_MAX_BYTES", 200 * 1024 * 1024)
# Upload budgets per team (challenges.upload_budget), on every path (web forms, API,
# CLI) and every kind together (prediction files, algorithm archives, task data versions,
# reference files, write-up PDFs): at most TEAM_UPLOAD_RATE uploads in any window of that
# length (``60/minute``; ``s``, ``h``, ``d`` too; 0: no limit), and at most
# TEAM_STORAGE_QUOTA_MB MiB stored for what its members uploaded (0: no quota).
TEAM_UPLOAD_RATE = env("TEAM_UPLOAD_RATE", "60/minute")
parse_rate(TEAM_UPLOAD_RATE)  # a malformed value stops the process here, not at an upload
# Discussion threads (discussion/, docs/decisions/0067-discussion-threads-written-here.md):
# the posts one person may write per UTC day in one challenge (organizers: no limit; each post
# also counts against the team's TEAM_UPLOAD_RATE), the longest post in characters (the
# Markdown renderer's bounds hold within it), and the minutes its author may edit a post.
DISCUSSION_POSTS_PER_DAY = env_int("DISCUSSION_POSTS_PER_DAY", 30)
DISCUSSION_POST_MAX_CHARS = env_int("DISCUSSION_POST_MAX_CHARS", 20_000)
DISCUSSION_EDIT_MINUTES = env_int("DISCUSSION_EDIT_MINUTES", 60)
TEAM_STORAGE_QUOTA_MB = env_int("TEAM_STORAGE_QUOTA_MB", 2048)
# A text a team saves (write-up, description, discussion post) holds at most this many
# characters, and each save counts against TEAM_UPLOAD_RATE (challenges.upload_budget).
TEAM_TEXT_MAX_CHARS = env_int("TEAM_TEXT_MAX_CHARS", 30_000)
# Reference files a task's owners may upload per task and UTC day (organizers: no limit).
REFERENCE_UPLOADS_PER_DAY = env_int("REFERENCE_UPLOADS_PER_DAY", 3)
BUNDLE_MAX_BYTES = env_int("BUNDLE_MAX_BYTES", 1024 * 1024 * 1024)
# New versions of a task's data (datasets.version_uploads): a worker checks each uploaded
# bundle as an import is checked, within TASK_VERSION_CHECK_SECONDS (Celery's soft limit; the
# hard one is 60 s more); a task's owners may upload TASK_VERSION_UPLOADS_PER_DAY per task and
# UTC day (refused ones do not count; organizers: no limit; 0: none); a task keeps the files
# of its TASK_DATA_VERSIONS_KEPT newest versions, the current one included (0: every one).
TASK_VERSION_CHECK_SECONDS = env_int("TASK_VERSION_CHECK_SECONDS", 1800)
TASK_VERSION_UPLOADS_PER_DAY = env_int("TASK_VERSION_UPLOADS_PER_DAY", 3)
TASK_DATA_VERSIONS_KEPT = env_int("TASK_DATA_VERSIONS_KEPT", 5)
# The import's leak probe (docs/organizers/stress.md, datasets.core.leakprobe): when a model of the
# train ids or row order alone beats the trivial baseline, "warn", "refuse" or "off".
# task.yaml's leak_probe and import_task --leak-probe choose per task.
TASK_LEAK_PROBE = env("TASK_LEAK_PROBE", "warn")

# Unset: the Redis the run command (`make run`) starts for this DATA_DIR, with its password
# (runtime.localredis.embedded_redis_url): every process of the install, a
# manage.py command in another shell included, finds the same broker and cache.
REDIS_URL = env("REDIS_URL") or embedded_redis_url(DATA_DIR)
# Seconds a command to Redis (cache or broker) may wait for an answer. Redis that vanishes
# without closing the connection (a cut link, a failover) would otherwise hold a web worker
# until TCP gives up, many minutes; the cache and the publish then fail and are tolerated.
REDIS_SOCKET_TIMEOUT = float(env("REDIS_SOCKET_TIMEOUT", "5"))
# Board table rows rendered once per content, in each process (keys are the content, so
# nothing goes stale; leaderboard/templatetags/board_rows.py).
BOARD_ROWS_CACHE = {
    "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
    "LOCATION": "board-rows",
    "TIMEOUT": 3600,
    "OPTIONS": {"MAX_ENTRIES": 20000, "CULL_FREQUENCY": 4},
}
CACHES = {
    "default": {
        # Django's Redis cache, failing at once for a moment after Redis was found unreachable
        # instead of waiting out REDIS_SOCKET_TIMEOUT on every call (jobs/redis_rest.py).
        "BACKEND": "jobs.redis_rest.RestingRedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "challenge",
        "OPTIONS": {
            "socket_timeout": REDIS_SOCKET_TIMEOUT,
            "socket_connect_timeout": REDIS_SOCKET_TIMEOUT,
        },
    },
    "board_rows": BOARD_ROWS_CACHE,
}
# Boards (task and track, pages and API) read from the cache above under versioned keys
# (leaderboard/cache/board_cache.py); BOARD_CACHE=0 reads the database on every request.
BOARD_CACHE = env("BOARD_CACHE", "1") not in ("0", "false", "no", "off")
BOARD_CACHE_SECONDS = env_int("BOARD_CACHE_SECONDS", 300)
# An anonymous reader (no session, no credentials) may get a board computed up to this many
# seconds ago (plus one render) although it changed since, while the board is in a rush:
# changed at least BOARD_CACHE_GRACE_CHANGES times in the last one or two such windows. A
# quiet board, and every board for participants, is read fresh (0: always;
# docs/operators/board-cache.md).
BOARD_CACHE_GRACE_SECONDS = float(env("BOARD_CACHE_GRACE_SECONDS", "5"))
BOARD_CACHE_GRACE_CHANGES = env_int("BOARD_CACHE_GRACE_CHANGES", 10)
# A task's score and rank intervals (the bootstrap) are computed at most once per this many
# seconds in a burst of scorings (leaderboard/cache/interval_jobs.py); 0 recomputes after every
# refresh.
BOARD_INTERVALS_SPACING_SECONDS = env_int("BOARD_INTERVALS_SPACING_SECONDS", 20)
# While submissions are queued for scoring, that computation waits (looking again every 2 s)
# for up to this many seconds, then runs however busy the workers are (0: never waits).
BOARD_INTERVALS_DEFER_SECONDS = env_int("BOARD_INTERVALS_DEFER_SECONDS", 60)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # `Authorization: Token <key>`, keys kept hashed (knox's, saying when a token was
        # revoked by a change to its account: challenges.api.authentication)
        "challenges.api.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticatedOrReadOnly"],
    "DEFAULT_SCHEMA_CLASS": "challenges.api.schema.AutoSchema",
    "EXCEPTION_HANDLER": "challenges.api.exceptions.exception_handler",
    "DEFAULT_PAGINATION_CLASS": "challenges.api.pagination.BoundedLimitOffsetPagination",
    "PAGE_SIZE": 100,
    # Uploads are limited per team by TEAM_UPLOAD_RATE (above), not by a DRF throttle.
    "DEFAULT_THROTTLE_RATES": {"login": "20/min"},
    # Proxies in front of the web server whose X-Forwarded-For may be trusted: 0 uses the
    # peer address, so a client cannot reset its login budget by forging the header.
    "NUM_PROXIES": env_int("NUM_PROXIES", 0),
}
# API tokens (challenges.tokens): kept as SHA-512 digests, shown once. No expiry by
# default (as before; a client keeps working until its token is revoked): API_TOKEN_TTL_DAYS
# sets one for new tokens. A person holds at most API_TOKENS_PER_USER at once.
_token_ttl_days = env_int("API_TOKEN_TTL_DAYS", 0)
REST_KNOX = {
    "AUTH_HEADER_PREFIX": "Token",
    "AUTH_TOKEN_CHARACTER_LENGTH": 40,  # 160 random bits, hex: shaped like the keys before

    "TOKEN_TTL": timedelta(days=_token_ttl_days) if _token_ttl_days > 0 else None,
    "AUTO_REFRESH": False,
}
API_TOKENS_PER_USER = env_int("API_TOKENS_PER_USER", 20)
# A password reset, changed or set anew, or a deactivation, revokes every API token of the
# account; a client still sending one hears why (401 token_revoked) for this many days.
REVOKED_API_TOKEN_NOTICE_DAYS = env_int("REVOKED_API_TOKEN_NOTICE_DAYS", 90)
# A status read may wait for the status to change (`GET submissions/<id>/?wait=N`, the same
# for algorithm runs: jobs/changes.py): at most API_WAIT_MAX_SECONDS, and at most
# API_WAIT_MAX_WAITERS such requests per web process at once (half its threads, WEB_THREADS,
# by default), so waiting clients never hold every thread; past it a read answers at once.
API_WAIT_MAX_SECONDS = env_int("API_WAIT_MAX_SECONDS", 60)
API_WAIT_MAX_WAITERS = env_int("API_WAIT_MAX_WAITERS", max(1, env_int("WEB_THREADS", 8) // 2))
# ... of which one team holds at most half, one person at most a quarter (at least one
# each): one team's waits never push another's back to polling.
API_WAIT_MAX_WAITERS_PER_TEAM = env_int(
    "API_WAIT_MAX_WAITERS_PER_TEAM", max(1, API_WAIT_MAX_WAITERS // 2)
)
API_WAIT_MAX_WAITERS_PER_PERSON = env_int(
    "API_WAIT_MAX_WAITERS_PER_PERSON", max(1, API_WAIT_MAX_WAITERS // 4)
)
SPECTACULAR_SETTINGS = {
    "TITLE": "Multimodal tabular challenge API",
    "DESCRIPTION": (
        "Tasks, submissions and leaderboards. Authenticate with `Authorization: Token <key>`.\n\n"
        'Errors are JSON: `{"detail": ..., "code": ...}` (component `Error`; `code` names '
        'the rule that refused the request) or, for invalid fields, `{"<field>": [...]}` '
        "(`FieldErrors`). Every operation may answer 400 (malformed query), 401 (wrong "
        "token) and 503 (`database_unavailable`: try again after `Retry-After` seconds). "
        "Query parameters an operation does not list are ignored."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    # The champion gate's verdicts and rules (docs/organizers/champion-gate.md), one enum each where
    # other components have a "verdict" of their own (the pairwise ones).
    "ENUM_NAME_OVERRIDES": {
        "GateVerdictEnum": "leaderboard.core.gate.VERDICTS",
        "GateRuleEnum": "leaderboard.core.gate.RULES",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "challenges.api.schema.document_nul_refusal",
    ],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# Hardening (challenges.middleware / security).
# Web forms rate-limited with their API twin's DRF throttle scope (POST only).
# Every way to sign in or to ask for a mail shares the per-address "login" budget.
WEB_THROTTLES = {
    "login": "login",
    "admin:login": "login",
    "account_signup": "login",
    "account_reset_password": "login",
    "account_reset_password_from_key": "login",
    "account_confirm_email": "login",
    "account_email_verification_sent": "login",
    "openid_connect_login": "login",
}
# Database sessions whose keys are checked before they reach a query.
SESSION_ENGINE = "challenges.sessions"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# Only this site's own files; inline <script>/<style> need the per-request nonce
# (``nonce="{{ request.csp_nonce }}"``); style attributes and event handlers are refused.
CONTENT_SECURITY_POLICY = {
    "default-src": ["'self'"],
    "script-src": ["'self'", "'nonce'"],
    "style-src": ["'self'", "'nonce'"],
    "img-src": ["'self'"],
    "font-src": ["'self'"],
    "connect-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "form-action": form_action_sources(issuer=OIDC_ISSUER_URL if OIDC_ENABLED else None),
    "frame-ancestors": ["'none'"],
}
CONTENT_SECURITY_POLICY_BY_VIEW = {
    # Swagger UI (drf-spectacular-sidecar, our own static files: the page works without
    # internet access) styles itself inline and draws icons as data: URIs; it shows no user
    # data. Scripts stay 'self' only.
    "api-docs": {
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
    },
}

# Celery (docs/architecture.md, House style: JSON only, explicit queues, visibility
# timeout above the longest hard limit).
CELERY_BROKER_URL = REDIS_URL
# kombu's Redis transport without putting a worker's unacknowledged messages back when its
# channel closes: that close crashed the worker after every broker restart, and the
# lifecycle takes back what such messages stood for (jobs/broker_transport.py).
if str(REDIS_URL).startswith("redis://"):
    CELERY_BROKER_TRANSPORT = "jobs.broker_transport:Transport"
# A worker reconnects to a broker that came back within 1-2 s, not after kombu's growing
# waits of up to 30 s (jobs/consumer.py).
CELERY_WORKER_CONSUMER = "jobs.consumer:Consumer"
# A worker that lost the broker lets its running jobs finish (Celery's default, written down:
# it warns while the default is not set): a job's row is the truth, and its message only a
# doorbell (jobs/broker_transport.py).
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = False
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_SERIALIZER = "json"
CELERY_TIMEZONE = "UTC"
CELERY_TASK_DEFAULT_QUEUE = "scoring"
# The broker's queues, each a kombu Queue of this name (Celery's ``task_queues``): made with
# the Celery app (jobs.celery), so a process that publishes nothing never imports kombu.
TASK_QUEUE_NAMES = ("scoring", "baselines", "algorithms", "notifications", "board_renders")
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# With late acknowledgement a worker reserves only the messages its free processes can start
# (concurrency x 1): nothing waits in a worker's memory, so a message published ahead of the
# queue (below) is the next one any free process takes.
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Message priorities: on Redis, kombu keeps one list per priority step of each queue and a
# worker pops the lowest step of all its queues first. Every task goes at this priority; a
# job taken back from a dead worker or re-queued as stale goes at 0, ahead of the backlog
# (jobs.lifecycle.publish). A message without a priority counts as 0.
CELERY_TASK_DEFAULT_PRIORITY = 3
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A worker child whose resident memory passed this after a task is replaced by a fresh
# one, so one large submission's peak goes back to the OS (Celery counts KiB; 0: never).
WORKER_MAX_MEMORY_PER_CHILD_MB = env_int("WORKER_MAX_MEMORY_PER_CHILD_MB", 1024)
CELERY_WORKER_MAX_MEMORY_PER_CHILD = WORKER_MAX_MEMORY_PER_CHILD_MB * 1024 or None
SCORING_SOFT_TIME_LIMIT = env_int("SCORING_SOFT_TIME_LIMIT", 300)
SCORING_HARD_TIME_LIMIT = SCORING_SOFT_TIME_LIMIT + 30
# The AutoGluon baseline's work is fixed (its models, rounds, seeds and threads:
# algorithms/builtin/autogluon/budget.py), so a re-run gives the same predictions on an idle
# or a busy worker; BASELINE_TIME_LIMIT is only its safety limit: a baseline not finished
# within it fails with the reason instead of fitting less. BASELINE_PRESETS decides bagging
# and stacking (medium_quality: none), never the models.
BASELINE_TIME_LIMIT = env_int("BASELINE_TIME_LIMIT", 1800)
BASELINE_PRESETS = env("BASELINE_PRESETS", "medium_quality")
BASELINE_HARD_TIME_LIMIT = BASELINE_TIME_LIMIT * 3 + 300
# The baseline is an algorithm run in the sandbox (algorithms.services.builtin): its memory
# cap (address space), the train size above which it fits on a stratified sample, the test
# rows predicted at a time, and the folder of its code ("": algorithms/builtin/autogluon).
BASELINE_MEMORY_MB = env_int("BASELINE_MEMORY_MB", 8192)
BASELINE_MAX_TRAIN_ROWS = env_int("BASELINE_MAX_TRAIN_ROWS", 1_000_000)
BASELINE_PREDICT_BATCH_ROWS = env_int("BASELINE_PREDICT_BATCH_ROWS", 100_000)
BASELINE_ALGORITHM_DIR = env("BASELINE_ALGORITHM_DIR", "")
# Algorithm runs (docs/architecture.md §9): the sandbox's limits per run, and the Celery
# limits around them.
ALGORITHM_WALL_SECONDS = env_int("ALGORITHM_WALL_SECONDS", 900)
ALGORITHM_CPU_SECONDS = env_int("ALGORITHM_CPU_SECONDS", 1800)
ALGORITHM_MEMORY_MB = env_int("ALGORITHM_MEMORY_MB", 4096)
ALGORITHM_PROCESSES = env_int("ALGORITHM_PROCESSES", 128)
# Cores one run may keep busy at once (a cgroup CPU quota where the host has the cpu
# controller); 0: no cap beyond the host's.
ALGORITHM_CPUS = env_int("ALGORITHM_CPUS", 0)
ALGORITHM_OUTPUT_MB = env_int("ALGORITHM_OUTPUT_MB", 200)
ALGORITHM_TMP_MB = env_int("ALGORITHM_TMP_MB", 1024)
ALGORITHM_LOG_MB = env_int("ALGORITHM_LOG_MB", 20)
ALGORITHM_MAX_ARCHIVE_BYTES = env_int("ALGORITHM_MAX_ARCHIVE_BYTES", 20 * 1024 * 1024)
ALGORITHM_MAX_ATTEMPTS = env_int("ALGORITHM_MAX_ATTEMPTS", 2)
# The unprivileged host uid (and gid) a root worker's sandboxes run as (algorithms.sandbox.
# hostuser; never 0); 65534 is nobody. A worker that is not root runs them as itself.
ALGORITHM_SANDBOX_UID = env_int("ALGORITHM_SANDBOX_UID", 65534)
# The memory promised to all sandboxed runs of one host at once (each run: what it can hold
# in RAM, SandboxLimits.host_memory_mb), baselines included; a run waits for room. MB, 0 for
# no total, or "auto": the host's memory less 1 GiB for the workers
# (algorithms.services.common). Ledger folder: local to the host.
ALGORITHM_TOTAL_MEMORY_MB: str | int = env("ALGORITHM_TOTAL_MEMORY_MB", "auto").strip().lower()
if ALGORITHM_TOTAL_MEMORY_MB != "auto":
    ALGORITHM_TOTAL_MEMORY_MB = int(ALGORITHM_TOTAL_MEMORY_MB)  # a number, as env_int reads one
ALGORITHM_MEMORY_LEDGER_DIR = env("ALGORITHM_MEMORY_LEDGER_DIR", "")
# Fair share (algorithms.services.dispatch): a worker takes the best queued run, by its
# profile's priority class, then the share of the algorithm's team (runs running now, CPU
# seconds of runs finished within this window), then age.
ALGORITHM_FAIR_SHARE_WINDOW_SECONDS = env_int("ALGORITHM_FAIR_SHARE_WINDOW_SECONDS", 3600)
# Queued + running runs one team may have at once (a team's own runs; 0: no cap), so one
# team cannot fill the queue until the others wait for hours.
ALGORITHM_MAX_PENDING_RUNS_PER_TEAM = env_int("ALGORITHM_MAX_PENDING_RUNS_PER_TEAM", 50)
# Rows per row group of the test.parquet a run gets in /task (so algorithms can stream it).
ALGORITHM_TEST_ROW_GROUP_ROWS = env_int("ALGORITHM_TEST_ROW_GROUP_ROWS", 262_144)
# The living benchmark (docs/architecture.md §12, algorithms.services.benchmark): the
# CPU-hours per UTC day the background runs (re-runs of benchmark versions, reproductions) may use;
# once spent they stay queued until the next day or a higher budget. 0: none run.
BENCHMARK_CPU_HOURS_PER_DAY = float(env("BENCHMARK_CPU_HOURS_PER_DAY", "24"))
# The versions one team keeps in the benchmark (its marks first, then its final version, then
# its latest versions); marking one more in is refused. 0: no cap.
BENCHMARK_VERSIONS_PER_TEAM = env_int("BENCHMARK_VERSIONS_PER_TEAM", 3)
# The share of finished runs repeated on another worker to check their predictions agree.
REPRODUCTION_SHARE = float(env("REPRODUCTION_SHARE", "0.02"))
# How long a reproduction waits for another worker of its queue (one that did not run the
# original) before the worker that ran it may take it itself; a worker alone on the queue
# takes it at once. Its manifest says which. At most JOB_REPUBLISH_SECONDS x
# JOB_REPUBLISH_LIMIT / 4 (algorithms.services.budget.prefer_other_seconds).
REPRODUCTION_PREFER_OTHER_SECONDS = float(env("REPRODUCTION_PREFER_OTHER_SECONDS", "120"))
# A re-run whose inputs (archive, runtime lock, task data, seed, limits) equal a finished
# run's takes its result instead of running again.
BENCHMARK_REUSE_RESULTS = env("BENCHMARK_REUSE_RESULTS", "1") == "1"
# A task that arrives (imported by any path, or given a new data version) queues its AutoGluon
# baseline and its trivial baseline at once, in the transaction that adds it, so its boards and
# transfer cells get their bar with no one acting (0: organizers queue them: console,
# run_baselines).
BENCHMARK_ON_ARRIVAL = env("BENCHMARK_ON_ARRIVAL", "1") == "1"
# The public board mode a task gets when it is created (docs/organizers/ladder.md): "ladder-step"
# (a team's shown score moves only by a full step and a significant climb; a metric that is no
# score between 0 and 1 falls back to "ladder"), "ladder", "ladder-bootstrap" or "plain";
# organizers change a task's in the console. Tasks that existed before the modes are "plain".
PUBLIC_BOARD_DEFAULT = env("PUBLIC_BOARD_DEFAULT", "ladder-step")
# Stress runs (docs/organizers/stress.md, algorithms.services.stress): every benchmark version and
# the AutoGluon baseline run again on perturbed copies of each task's test rows, within the same
# budget. 0: none are queued. STRESS_MAX_ROWS caps a stress test set (0: the clean size).
STRESS_RUNS = env("STRESS_RUNS", "1") == "1"
STRESS_MAX_ROWS = env_int("STRESS_MAX_ROWS", 200_000)
# The seed every run gets (``SEED`` and task.json's ``seed``), and the runtime lock whose
# sha256 each run's manifest records ("": the repository's requirements.lock).
ALGORITHM_SEED = env_int("ALGORITHM_SEED", 42)
ALGORITHM_RUNTIME_LOCK = env("ALGORITHM_RUNTIME_LOCK", str(BASE_DIR / "requirements.lock"))
# Copying the task in and submitting the output happen inside the soft limit too.
ALGORITHM_SOFT_TIME_LIMIT = ALGORITHM_WALL_SECONDS + 300
ALGORITHM_HARD_TIME_LIMIT = ALGORITHM_SOFT_TIME_LIMIT + 60
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": max(BASELINE_HARD_TIME_LIMIT, ALGORITHM_HARD_TIME_LIMIT) + 600,
    # Without these a publish waits forever on a broker that vanished without closing the
    # connection (kombu's docs); the publish then fails, is logged, and the sweeper re-queues.
    "socket_timeout": REDIS_SOCKET_TIMEOUT,
    "socket_connect_timeout": REDIS_SOCKET_TIMEOUT,
    # A worker's consumer waits on the broker with a command always in flight (BRPOP), which
    # socket_timeout does not bound: after a cut link, TCP retransmits that command ever more
    # rarely (0.2 s doubling), and the worker took no job until the next one got through,
    # up to 8 s after the link was back. A connection whose sent bytes stay unacknowledged
    # this long is closed instead, and the consumer reconnects (Linux's TCP_USER_TIMEOUT;
    # keepalive finds a peer gone while nothing is sent).
    "socket_keepalive": True,
    "socket_keepalive_options": {
        socket.TCP_USER_TIMEOUT: int(REDIS_SOCKET_TIMEOUT * 1000),
        socket.TCP_KEEPIDLE: max(int(REDIS_SOCKET_TIMEOUT), 1),
        socket.TCP_KEEPINTVL: 1,
        socket.TCP_KEEPCNT: 3,
    },
    # kombu's default, written down: the lists of CELERY_TASK_DEFAULT_PRIORITY and of 0.
    "priority_steps": [0, 3, 6, 9],
}
# Lost messages (jobs.republish): a job queued in the database with no message on the broker
# (the broker restarted empty, a process that could not reach it) is published again within
# this many seconds; the beat looks every half of it.
JOB_REPUBLISH_SECONDS = float(env("JOB_REPUBLISH_SECONDS", "60"))
# A task that finds the database unreachable (a restart, a cut link) waits in its worker for
# it this long before Celery's retry (jobs.celery: a worker that cannot reach the database
# takes no more messages meanwhile, and what it holds ends as soon as it answers again).
JOB_DATABASE_WAIT_SECONDS = float(env("JOB_DATABASE_WAIT_SECONDS", "60"))
# A queued job published again this many times with no worker starting it (each worker that
# took its message found nothing it may run) is failed with that reason, never left looping
# (jobs.republish): a few minutes at the default bound.
JOB_REPUBLISH_LIMIT = env_int("JOB_REPUBLISH_LIMIT", 10)
# Worker liveness (jobs/liveness.py): each worker beats this often, and one
# silent for WORKER_LOST_AFTER_SECONDS is taken for dead: the jobs it held are re-queued at
# once. A lost worker's job is scored again within 10 s (seen dead after 5-6 s); the largest
# gap between two beats measured on a loaded 2-core host is about a beat and a tenth, so 5 s
# is four missed beats (docs/decisions/0007-worker-liveness.md,
# docs/decisions/0058-nothing-lost-when-faults-overlap.md).
WORKER_BEAT_SECONDS = float(env("WORKER_BEAT_SECONDS", "1"))
WORKER_LOST_AFTER_SECONDS = float(env("WORKER_LOST_AFTER_SECONDS", "5"))
# The last resort (Redis down, no worker to judge): a submission still queued/scoring this
# long after its last state change is re-queued.
SWEEPER_STALE_AFTER_SECONDS = env_int("SWEEPER_STALE_AFTER_SECONDS", SCORING_HARD_TIME_LIMIT + 60)
SCORING_MAX_ATTEMPTS = env_int("SCORING_MAX_ATTEMPTS", 3)
# Notification mails (notifications.mail): tries of one mail before it fails (SMTP errors).
MAIL_MAX_ATTEMPTS = env_int("MAIL_MAX_ATTEMPTS", 5)
# Outgoing webhooks (notifications.webhooks): exponential backoff base * 2**(try - 1).
WEBHOOK_MAX_ATTEMPTS = env_int("WEBHOOK_MAX_ATTEMPTS", 6)
WEBHOOK_RETRY_BASE_SECONDS = float(env("WEBHOOK_RETRY_BASE_SECONDS", "30"))
WEBHOOK_RETRY_MAX_SECONDS = float(env("WEBHOOK_RETRY_MAX_SECONDS", "3600"))
WEBHOOK_TIMEOUT_SECONDS = float(env("WEBHOOK_TIMEOUT_SECONDS", "5"))  # one whole try
# Refuse webhook hosts resolving to any non-public address (on in production).
WEBHOOK_BLOCK_PRIVATE_NETWORKS = env("WEBHOOK_BLOCK_PRIVATE_NETWORKS", "0") == "1"
# Trusted roots for https receivers (a PEM file); empty: certifi's, as requests uses.
WEBHOOK_CA_BUNDLE = env("WEBHOOK_CA_BUNDLE", "")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
