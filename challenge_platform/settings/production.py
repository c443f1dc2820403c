"""Production settings: refuse to start without a real secret, hosts and database."""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import env

_missing = [name for name in ("SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL") if not env(name)]
if _missing:
    raise ImproperlyConfigured(
        "production settings need these environment variables: " + ", ".join(_missing)
    )

SECRET_KEY = env("SECRET_KEY")
if len(SECRET_KEY) < 50 or SECRET_KEY.startswith("local-"):
    raise ImproperlyConfigured("SECRET_KEY must be a random value of at least 50 characters")
ALLOWED_HOSTS = [h.strip() for h in env("ALLOWED_HOSTS").split(",") if h.strip()]
CSRF_TRUSTED_ORIGINS = [
    o.strip() for o in (env("CSRF_TRUSTED_ORIGINS", "") or "").split(",") if o.strip()
]

DEBUG = False
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env("SECURE_SSL_REDIRECT", "1") == "1"
SECURE_HSTS_SECONDS = int(env("SECURE_HSTS_SECONDS", "31536000"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
# Behind one TLS-terminating proxy (what SECURE_PROXY_SSL_HEADER assumes), the client is the
# address that proxy appends to X-Forwarded-For; the login rate limit counts per client.
REST_FRAMEWORK["NUM_PROXIES"] = int(env("NUM_PROXIES", "1"))  # noqa: F405
# Webhook URLs resolving to internal addresses are refused (SSRF; notifications.webhooks).
WEBHOOK_BLOCK_PRIVATE_NETWORKS = env("WEBHOOK_BLOCK_PRIVATE_NETWORKS", "1") == "1"
