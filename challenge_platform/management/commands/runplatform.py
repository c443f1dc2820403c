"""Run the whole embedded platform in the foreground (the README's run command)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from django.conf import settings
from django.core.management import get_commands
from django.core.management.base import BaseCommand, CommandError

from challenge_platform.localredis import start_local_redis
from challenge_platform.mail import mail_destination


class Command(BaseCommand):
    help = (
        "Start Redis, the Celery workers (scoring, baselines, algorithms), beat and the web "
        "server; Ctrl-C stops all."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--addr", default="127.0.0.1:8000")
        parser.add_argument(
            "--redis-port", type=int, default=int(os.environ.get("LOCAL_REDIS_PORT", 16379))
        )
        parser.add_argument("--no-demo", action="store_true", help="don't build the demo challenge")

    def handle(self, *args, **opts) -> None:
        from honcho.manager import Manager

        data_dir = Path(settings.DATA_DIR)
        env = dict(os.environ)
        redis = None
        if not os.environ.get("REDIS_URL"):
            redis = start_local_redis(data_dir / "redis", port=opts["redis_port"])
            env["REDIS_URL"] = redis.url
            self.stdout.write(f"Redis: {redis.url} (data in {redis.data_dir})")
        # Sign-up confirmations and password resets land here in the embedded default.
        self.stdout.write(f"Mail: {mail_destination()}")
        env.setdefault(
            "DJANGO_SETTINGS_MODULE",
            os.environ.get("DJANGO_SETTINGS_MODULE", "challenge_platform.settings.local"),
        )
        env["PYTHONUNBUFFERED"] = "1"
        py = sys.executable
        manage = str(Path(settings.BASE_DIR) / "manage.py")
        try:
            # Setup runs in child processes so they see the REDIS_URL chosen above.
            steps = [["migrate", "--no-input", "-v", "0"], ["ensure_accounts"]]
            if not opts["no_demo"] and "load_demo" in get_commands():
                steps.append(["load_demo"])
            for step in steps:
                if subprocess.run([py, manage, *step], env=env, check=False).returncode != 0:
                    raise CommandError(f"setup step failed: manage.py {' '.join(step)}")
            manager = Manager()
            # Scoring and baselines get their own worker processes (as in production), so a
            # participant's file is scored within seconds while AutoGluon trains next door.
            manager.add_process(
                "worker",
                f"{py} -m celery -A challenge_platform worker -Q scoring,notifications "
                f"--concurrency 2 --loglevel INFO --hostname scoring@%h",
                env=env,
            )
            manager.add_process(
                "baselines",
                f"{py} -m celery -A challenge_platform worker -Q baselines "
                f"--concurrency 1 --loglevel INFO --hostname baselines@%h",
                env=env,
            )
            # Algorithm runs: one sandboxed run at a time (DESIGN §9; needs bubblewrap).
            manager.add_process(
                "algorithms",
                f"{py} -m celery -A challenge_platform worker -Q algorithms "
                f"--concurrency 1 --prefetch-multiplier 1 --loglevel INFO "
                f"--hostname algorithms@%h",
                env=env,
            )
            manager.add_process(
                "beat",
                f"{py} -m celery -A challenge_platform beat --loglevel INFO "
                f"--schedule {data_dir / 'celerybeat-schedule'}",
                env=env,
            )
            manager.add_process(
                "web", f"{py} {manage} runserver {opts['addr']} --noreload", env=env
            )
            self.stdout.write(
                f"\nThe platform is up at http://{opts['addr']}/ (Ctrl-C stops everything)\n"
            )
            manager.loop()
            sys.exit(manager.returncode or 0)
        finally:
            if redis is not None:
                redis.stop()
