"""Local development: safe defaults so `make run` works on a fresh machine."""

from .base import *  # noqa: F403
from .base import env

DEBUG = env("DEBUG", "1") == "1"
# A fixed, clearly-marked development key; production settings refuse to start without a real one.
SECRET_KEY = env("SECRET_KEY", "local-development-only-not-a-secret")
ALLOWED_HOSTS = (env("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1],testserver") or "").split(",")
