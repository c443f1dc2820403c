"""The set-up every screenshot script of this folder shares (one home for it): a platform of
the script's own, its processes, Chromium, the waits and the shots.

    with screenshot_site(keep=args.keep) as site:   # DATA_DIR, Redis, Django set up
        call_command("migrate", verbosity=0)
        site.workers("worker")                       # the Procfile's Celery processes
        ...                                          # the state to photograph
        base = site.web()                            # the site's web server, answering
        with chromium() as browser:
            page = browser.new_page(viewport=VIEWPORT)
            page.goto(f"{base}/...")
            shoot(page, "name.png")                  # docs/screenshots/name.png

The processes are the platform's own, started as its tools start them: the workers with
``runtime.worker_command`` (the tests' worker fixture's command), the web server
from the Procfile's ``web`` line (gunicorn and WhiteNoise, as ``make run`` and the tests'
web server, ``tests/support/web_server.py``), Chromium with the page tests' launch and login
(``tests/support/chromium.py``: Debian's ``/usr/bin/chromium``, never a downloaded one).
Everything runs against a fresh temporary ``DATA_DIR``, never the repository's ``var/``.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.request
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from playwright.sync_api import Browser

REPO = Path(__file__).resolve().parents[2]
OUT = Path(__file__).resolve().parent
VIEWPORT = {"width": 1280, "height": 800}
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))  # tests.support.chromium: the browser's one launch and login
from tests.support.chromium import launch, login  # noqa: E402, F401 - login: the scripts'

# --- the site ---------------------------------------------------------------------------------


@dataclass
class ScreenshotSite:
    """A platform of the script's own: its ``DATA_DIR`` and the processes started in it."""

    data_dir: Path
    processes: list[subprocess.Popen] = field(default_factory=list)

    def workers(self, *names: str) -> None:
        """The Procfile's Celery processes ``names`` (``worker``: the ``scoring`` and
        ``notifications`` queues; ``baselines``, ``algorithms``, ``renders``), each on the
        queues of its ``-Q`` with one pool process, logging to ``DATA_DIR/worker-<name>.log``."""
        from runtime.procfile import queue_processes
        from runtime.worker_command import celery_worker_command

        consumed = queue_processes()
        for name in names:
            queues = ",".join(q for q, process in consumed.items() if process == name)
            if not queues:
                raise SystemExit(f"the Procfile has no Celery process named {name!r}")
            command = celery_worker_command(queues, concurrency=1, hostname=f"{name}@screenshots")
            self.processes.append(self._start(command, f"worker-{name}.log"))

    def beat(self) -> None:
        """The Procfile's ``beat``: the periodic tasks a deployment runs (the sweeper, the
        workers' heartbeat the organizer console shows), its schedule under ``DATA_DIR``."""
        from runtime.procfile import processes

        os.environ["CELERY_BEAT_SCHEDULE"] = str(self.data_dir / "celerybeat-schedule")
        beat = ["/bin/sh", "-c", f"exec {processes()['beat']}"]
        self.processes.append(self._start(beat, "beat.log"))

    def web(self) -> str:
        """The Procfile's ``web`` (gunicorn; WhiteNoise serves the static files, collected
        first) on a free loopback port; its base URL once ``/healthz`` answers."""
        from django.core.management import call_command

        from runtime.localredis import free_port
        from runtime.procfile import processes

        call_command("collectstatic", interactive=False, verbosity=0)
        port = free_port()
        os.environ.update(WEB_BIND=f"127.0.0.1:{port}", WEB_CONCURRENCY="2")
        web = ["/bin/sh", "-c", f"exec {processes()['web']}"]
        self.processes.append(self._start(web, "web.log"))
        base = f"http://127.0.0.1:{port}"
        wait_until(lambda: http_ok(base + "/healthz"), what="the web server", timeout=120)
        return base

    def _start(self, command: list[str], log: str) -> subprocess.Popen:
        return subprocess.Popen(
            command,
            cwd=REPO,
            stdout=(self.data_dir / log).open("ab"),  # the child owns it
            stderr=subprocess.STDOUT,
        )


@contextmanager
def screenshot_site(*, keep: bool, **environment: str) -> Iterator[ScreenshotSite]:
    """A fresh temporary ``DATA_DIR`` (SQLite under it, never the repository's ``var/``) with
    a private Redis and Django set up, ``environment`` added to the process's (its children,
    the workers and the web server, inherit it); at the end every process started is
    stopped, Redis too, and the folder removed unless ``keep``."""
    data_dir = Path(tempfile.mkdtemp(prefix="screenshots-"))
    print(f"DATA_DIR={data_dir}")
    from runtime.localredis import start_local_redis

    redis = start_local_redis(data_dir / "redis")
    os.environ.pop("DATABASE_URL", None)  # SQLite under DATA_DIR
    os.environ.update(
        DJANGO_SETTINGS_MODULE="challenge_platform.settings.local",
        DATA_DIR=str(data_dir),
        REDIS_URL=redis.url,
        PYTHONUNBUFFERED="1",
        # gunicorn and celery of this interpreter's environment first.
        PATH=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
        **environment,
    )
    site = ScreenshotSite(data_dir=data_dir)
    try:
        import django

        django.setup()
        yield site
    finally:
        for process in reversed(site.processes):
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        redis.stop()
        if keep:
            print(f"kept {data_dir}")
        else:
            shutil.rmtree(data_dir, ignore_errors=True)


@contextmanager
def chromium() -> Iterator[Browser]:
    """Debian's Chromium through Playwright, launched as the page tests launch it."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            yield browser
        finally:
            browser.close()


# --- waits --------------------------------------------------------------------------------------


def wait_until(predicate: Callable[[], bool], *, what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    print(f"waiting for {what} ...", flush=True)
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(1)
    raise SystemExit(f"timed out waiting for {what}")


def http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - our local server
            return response.status == 200
    except OSError:
        return False


def baselines_done() -> bool:
    from algorithms.models import ACTIVE, BaselineRun

    return not BaselineRun.objects.filter(status__in=ACTIVE).exists()


def runs_done() -> bool:
    from algorithms.models import ACTIVE, AlgorithmRun

    return not AlgorithmRun.objects.filter(status__in=ACTIVE).exists()


def nothing_pending() -> bool:
    from scoring.models import Submission, SubmissionStatus

    pending = (SubmissionStatus.QUEUED, SubmissionStatus.SCORING)
    return not Submission.objects.filter(status__in=pending).exists()


# --- pages and shots ----------------------------------------------------------------------------


def scroll_to(page, selector: str, *, margin: int) -> None:
    """Scroll so that ``selector`` starts ``margin`` pixels below the top of the window."""
    top = page.locator(selector).first.bounding_box()["y"]
    page.evaluate("y => window.scrollTo(0, y)", max(top - margin, 0))


def shoot(page, name: str) -> None:
    """The window as it is, to ``docs/screenshots/<name>``."""
    _wrote(page.screenshot, name)


def shoot_element(locator, name: str) -> None:
    """One element of the page, whole (it may be taller than the viewport)."""
    _wrote(locator.screenshot, name)


def _wrote(screenshot: Callable[..., object], name: str) -> None:
    path = OUT / name
    screenshot(path=str(path))
    print(f"wrote {path.relative_to(REPO)} ({path.stat().st_size / 1024:.0f} KB)")


# --- algorithms -----------------------------------------------------------------------------------


def archive(name: str, main: str) -> bytes:
    """An algorithm archive: ``algorithm.yaml`` naming it and its ``main.py``."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("algorithm.yaml", f"name: {name}\ndescription: |\n  {name}.\n")
        zf.writestr("main.py", textwrap.dedent(main))
    return buffer.getvalue()
