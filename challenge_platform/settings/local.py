"""Local development: safe defaults so `make run` works on a fresh machine."""

import os
from pathlib import Path

from runtime.datadir import PRIVATE_UMASK, install_secret, private_dir

from .base import *  # noqa: F403
from .base import DATA_DIR, EMAIL_FILE_PATH, env

# Off unless asked for (DEBUG=1): a debug 404 lists every URL pattern. `make run` serves with
# gunicorn and WhiteNoise either way; DEV_SERVER=1 (runplatform) turns DEBUG on with runserver.
DEBUG = env("DEBUG", "0") == "1"
# The data folder (database, media, private files, Redis data, mail) is its owner's alone,
# and so is this install's own signing key, made once under it (runtime.datadir):
# a key published in the repository would let anyone forge e-mail confirmations and
# sessions. SECRET_KEY in the environment still wins; production settings require it.
# Whatever a process of the embedded default writes (the web, workers, and an organizer's
# manage.py commands alike) is created 0600/0700.
os.umask(PRIVATE_UMASK)
private_dir(DATA_DIR)
private_dir(Path(EMAIL_FILE_PATH))  # sign-up and reset links are credentials
SECRET_KEY = env("SECRET_KEY") or install_secret(DATA_DIR / "secret_key")
ALLOWED_HOSTS = (env("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1],testserver") or "").split(",")
