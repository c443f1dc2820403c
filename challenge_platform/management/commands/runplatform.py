"""Run the whole embedded platform in the foreground (the README's run command).

The processes are the ``Procfile``'s (web, workers, beat: see challenge_platform.procfile),
started together by honcho with local values for their variables. The web process is
gunicorn, the production WSGI server, with DEBUG off and static files served by WhiteNoise
from ``$DATA_DIR/static``. ``DEV_SERVER=1`` swaps it for Django's development server with
DEBUG on, for working on the code only: it lists URL patterns on a 404 and does not read
chunked uploads.

Everything it and its processes create under ``$DATA_DIR`` (database, media, private files,
Redis data, mail, the beat's schedule) is its owner's only (umask 077, ``0700`` folders),
and the local Redis asks for a password kept in ``$DATA_DIR/redis-password`` (0600).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from django.conf import settings
from django.core.management import get_commands
from django.core.management.base import BaseCommand, CommandError

from challenge_platform.datadir import PRIVATE_UMASK, install_secret, private_dir
from challenge_platform.localredis import start_local_redis
from challenge_platform.mail import mail_destination
from challenge_platform.procfile import processes


def dev_server_wanted() -> bool:
    return os.environ.get("DEV_SERVER", "") in ("1", "true", "yes")


class Command(BaseCommand):
    help = (
        "Start Redis and every process of the Procfile (gunicorn, the Celery workers, beat); "
        "Ctrl-C stops all. DEV_SERVER=1 uses Django's development server instead of gunicorn."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--addr", default="127.0.0.1:8000")
        parser.add_argument(
            "--redis-port", type=int, default=int(os.environ.get("LOCAL_REDIS_PORT", 16379))
        )
        parser.add_argument("--no-demo", action="store_true", help="don't build the demo challenge")

    def handle(self, *args, **opts) -> None:
        from honcho.manager import Manager

        os.umask(PRIVATE_UMASK)  # inherited by every process started below
        data_dir = private_dir(Path(settings.DATA_DIR))
        env = self._environment(data_dir, opts["addr"])
        redis = None
        if not os.environ.get("REDIS_URL"):
            redis = start_local_redis(
                data_dir / "redis",
                port=opts["redis_port"],
                password=install_secret(data_dir / "redis-password", nbytes=32, min_length=32),
            )
            env["REDIS_URL"] = redis.url
            self.stdout.write(f"Redis: {redis.display_url} (data in {redis.data_dir})")
        # Sign-up confirmations and password resets land here in the embedded default.
        self.stdout.write(f"Mail: {mail_destination()}")
        py = sys.executable
        manage = str(Path(settings.BASE_DIR) / "manage.py")
        try:
            # Setup runs in child processes so they see the REDIS_URL chosen above.
            steps = [
                ["migrate", "--no-input", "-v", "0"],
                ["collectstatic", "--no-input", "-v", "0"],
                ["ensure_accounts"],
            ]
            if not opts["no_demo"] and "load_demo" in get_commands():
                steps.append(["load_demo"])
            for step in steps:
                if subprocess.run([py, manage, *step], env=env, check=False).returncode != 0:
                    raise CommandError(f"setup step failed: manage.py {' '.join(step)}")
            commands = processes()
            if dev_server_wanted():
                commands["web"] = f"{py} {manage} runserver {opts['addr']} --noreload"
                self.stdout.write("DEV_SERVER=1: Django's development server, DEBUG on")
            manager = Manager()
            for name, command in commands.items():
                manager.add_process(name, command, env=env, cwd=str(settings.BASE_DIR))
            self.stdout.write(
                f"\nThe platform is up at http://{opts['addr']}/ (Ctrl-C stops everything)\n"
            )
            manager.loop()
            sys.exit(manager.returncode or 0)
        finally:
            if redis is not None:
                redis.stop()

    @staticmethod
    def _environment(data_dir: Path, addr: str) -> dict[str, str]:
        """The processes' environment: this one, plus the local values of the Procfile's
        variables, with this interpreter's folder first on PATH (gunicorn, celery)."""
        env = dict(os.environ)
        env.setdefault("DJANGO_SETTINGS_MODULE", "challenge_platform.settings.local")
        env["PYTHONUNBUFFERED"] = "1"
        env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
        env["WEB_BIND"] = addr
        env.setdefault("WEB_CONCURRENCY", "2")
        env.setdefault("WORKER_CONCURRENCY", "2")
        env["CELERY_BEAT_SCHEDULE"] = str(data_dir / "celerybeat-schedule")
        env["DEBUG"] = "1" if dev_server_wanted() else env.get("DEBUG", "0")
        return env
