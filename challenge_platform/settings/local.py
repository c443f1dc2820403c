"""Local development: safe defaults so `make run` works on a fresh machine."""

from .base import *  # noqa: F403
from .base import env

# Off unless asked for (DEBUG=1): a debug 404 lists every URL pattern. `make run` serves with
# gunicorn and WhiteNoise either way; DEV_SERVER=1 (runplatform) turns DEBUG on with runserver.
DEBUG = env("DEBUG", "0") == "1"
# A fixed, clearly-marked development key; production settings refuse to start without a real one.
SECRET_KEY = env("SECRET_KEY", "local-development-only-not-a-secret")
ALLOWED_HOSTS = (env("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1],testserver") or "").split(",")
