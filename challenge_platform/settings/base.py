"""Settings shared by every environment; values come from environment variables
(docs/architecture.md §8). The web site, accounts, API and caches are here; these modules,
gathered below, hold the rest by what they do: ``environment`` (reading the variables, the
data folder), ``storage`` (stored files), ``runs`` (algorithm runs, baselines, the living
benchmark) and ``jobs`` (Celery, the broker, the job lifecycle)."""

from __future__ import annotations

from datetime import timedelta

import dj_database_url

from challenges.accounts.oidc_settings import (
    PROVIDER_ID,
    form_action_sources,
    openid_connect_providers,
)
from common.rates import parse_rate

from .environment import *  # noqa: F403 - BASE_DIR, DATA_DIR and the folders under it
from .environment import DATA_DIR, env, env_int, env_list
from .jobs import *  # noqa: F403
from .jobs import REDIS_SOCKET_TIMEOUT, REDIS_URL
from .runs import *  # noqa: F403
from .storage import *  # noqa: F403

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
    # The server's side of the socket the same: a client cut off in a transaction is found
    # within ~11 s and its transaction aborted, so its row locks do not hold the job's
    # next try until the server's kernel gives up (2 h of keepalive idle by default).
    # DATABASE_SERVER_KEEPALIVES=0 for a pooler that refuses startup options.
    _user_timeout_ms = env_int("DATABASE_TCP_USER_TIMEOUT_MS", 10_000)
    _options = DATABASES["default"].setdefault("OPTIONS", {})
    _options.update(
        {
            "connect_timeout": env_int("DATABASE_CONNECT_TIMEOUT", 5),
            "tcp_user_timeout": _user_timeout_ms,
            "keepalives": 1,
            "keepalives_idle": 5,
            "keepalives_interval": 2,
            "keepalives_count": 3,
        }
    )
    # Statements prepared on the server: psycopg binds the parameters on the server and
    # prepares a statement after its 5th run on a connection (its own default), so PostgreSQL
    # parses and plans each of the ORM's statements once per connection instead of on every
    # run: an upload and its scoring a tenth to a fifth quicker
    # (docs/decisions/0082-postgresql-prepares-the-orm-s-statements.md).
    # DATABASE_PREPARED_STATEMENTS=0 behind a pooler in transaction mode that cannot keep
    # them (PgBouncer before 1.21, or without max_prepared_statements).
    if env_int("DATABASE_PREPARED_STATEMENTS", 1):
        _options.update({"server_side_binding": True, "prepare_threshold": 5})
    if env_int("DATABASE_SERVER_KEEPALIVES", 1):
        _options["options"] = " ".join(
            filter(
                None,
                (
                    _options.get("options", ""),
                    "-c tcp_keepalives_idle=5 -c tcp_keepalives_interval=2",
                    f"-c tcp_keepalives_count=3 -c tcp_user_timeout={_user_timeout_ms}",
                ),
            )
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


LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
