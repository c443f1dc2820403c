"""What a cold command pays before its own work: Django's start with the platform's apps.

A user's ``manage.py score_file`` or ``import_task`` is timed against a process that only
reads the files (bench/bench_scoring.py --command, bench/bench_scale.py --steps
import-command); every module the platform's apps import at start is paid by every command,
web process and worker. The statistics libraries (scipy.stats, statsmodels, about a second
together) and DRF's schema machinery (drf-spectacular's utilities pull DRF's fields, Django's
test client and PostgreSQL's form fields) are imported where they are used, not at start;
this test keeps it so. (pandas is left out of the list: pyarrow imports it on its first
array, which scoring makes.) So are the clients a command never uses (Redis's, allauth's
HTTP client, the sandbox backend, YAML for a command that reads none), the apps' services,
which what an app registers at start imports when it is first called, and the apps' task
modules, which only workers, the beat and the reports on running jobs import
(docs/decisions/0038-a-cold-command-imports-only-what-it-runs.md, "Registered at start,
imported when called", "Task modules are the workers'"). And the whole start is counted:
a cold ``score_file --help`` imports at most :data:`COLD_START_MODULES` modules.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.importtime import biggest, count, imported_tree

ROOT = Path(__file__).resolve().parents[2]
# The broker's queues, as the Celery app must have them once made.
QUEUES = ["algorithms", "baselines", "board_renders", "notifications", "scoring"]

# Modules a cold command must not import before its work starts, with what pulls them in
# when they come back (the first importer is printed by the test's failure).
NOT_AT_START = (
    "scipy.stats",
    "scipy.optimize",
    "statsmodels",
    "pandas",
    "drf_spectacular.utils",
    "rest_framework.fields",
    "django.test",
    # The cache's client: the boards name its errors when one is raised (localredis).
    "redis",
    # allauth's provider registry, loaded by the URL configuration (accounts/apps.py).
    "requests",
    "urllib3",
    "charset_normalizer",
    # The bootstrap's BLAS thread limit, made on its first use.
    "threadpoolctl",
    # The services, imported by the receivers and tasks that call them when they run.
    "scoring.services.lifecycle",
    "scoring.services.upload",
    "leaderboard.services",
    "leaderboard.refresh",
    "leaderboard.stored_board",
    "leaderboard.champion.services",
    "leaderboard.champion.beat",
    "leaderboard.champion.checks",
    "standings.services",
    "notifications.services",
    "notifications.webhooks",
    "notifications.mail",
    "algorithms.services",
    "algorithms.selectors",
    "algorithms.sandbox.bubblewrap",
    "algorithms.core",
    # The task modules: a publisher needs a task's name and queue (its app's task_names).
    "algorithms.tasks",
    "challenges.tasks",
    "datasets.tasks",
    "jobs.tasks",
    "leaderboard.tasks",
    "notifications.tasks",
    "scoring.tasks",
    "standings.tasks",
)

# A cold ``manage.py score_file --help`` imports at most this many modules (the lines of
# ``python -X importtime``: each module an import statement loads; what Django loads by name,
# the apps' modules, models and the command, has none). 2026-12, issue 55: 834, pandas
# aside (pyarrow imports it on the scoring's first array, on a thread of its own).
COLD_START_MODULES = 860

PROBE = """
import json, os, sys, traceback

firsts = {}


class Watch:
    def find_spec(self, name, path=None, target=None):
        for watched in WATCHED:
            if (name == watched or name.startswith(watched + ".")) and watched not in firsts:
                frames = [
                    f"{frame.filename}:{frame.lineno}"
                    for frame in traceback.extract_stack()
                    if frame.filename.startswith(ROOT) and "/.venv/" not in frame.filename
                ]
                firsts[watched] = frames[-3:]
        return None


sys.meta_path.insert(0, Watch())
import django

django.setup()
import importlib

for command in COMMANDS:
    importlib.import_module(command)
print(json.dumps(firsts))
"""


@pytest.mark.parametrize(
    ("commands", "also_not"),
    [
        # A task's import reads its task.yaml; scoring reads no YAML.
        (["scoring.management.commands.score_file"], ("yaml",)),
        (["datasets.management.commands.import_task"], ()),
    ],
    ids=["score_file", "import_task"],
)
def test_a_cold_command_imports_no_statistics_or_schema_library(
    tmp_path, commands, also_not
) -> None:
    watched = NOT_AT_START + also_not
    code = f"WATCHED = {watched!r}\nROOT = {str(ROOT)!r}\nCOMMANDS = {commands!r}\n" + PROBE
    imported = _last_json_line(tmp_path, "-c", code)
    assert imported == {}, "imported at start, first by: " + json.dumps(imported, indent=1)


def test_the_url_configuration_imports_no_statistics_library(tmp_path) -> None:
    """Every web process loads the URL configuration (every view's module), and so does every
    worker's start (Celery runs Django's checks, which load it): the statistics libraries
    (scipy.stats alone 0.5 s of each start) are imported where a figure is computed."""
    watched = ("scipy.stats", "scipy.optimize", "statsmodels")
    code = (
        f"WATCHED = {watched!r}\nROOT = {str(ROOT)!r}\nCOMMANDS = ['challenge_platform.urls']\n"
        + PROBE
    )
    imported = _last_json_line(tmp_path, "-c", code)
    assert imported == {}, "imported with the URLs, first by: " + json.dumps(imported, indent=1)


def test_a_cold_score_file_imports_at_most_its_figure_of_modules(tmp_path) -> None:
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "manage.py", "score_file", "--help"],
        cwd=ROOT,
        env=_environment(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    tree = imported_tree(done.stderr)
    assert count(tree) <= COLD_START_MODULES, (
        f"a cold score_file --help imports {count(tree)} modules (at most "
        f"{COLD_START_MODULES}); the biggest imports, with what each brought in:\n  "
        + "\n  ".join(biggest(tree))
    )
    assert count(tree) > COLD_START_MODULES / 2, "the report was not read: fewer than half"


# Celery's app, kombu and the AMQP client: made with the Celery app (jobs.celery), which a
# command that publishes nothing never makes (0.1-0.15 CPU-seconds of a cold start); PyICU,
# imported on the first team or user name checked (challenges.team_names).
NO_CELERY_AT_START = ("celery.app", "celery.signals", "kombu", "amqp", "icu")

TASK_MODULES = tuple(m for m in NOT_AT_START if m.endswith(".tasks"))


def test_manage_py_starts_without_celery_and_makes_its_app_on_first_use(tmp_path) -> None:
    """A command starts (manage.py, Django with every app ready, the score_file command's
    module) without Celery; the app is made on first use with every queue, and routes each
    task by the queue declared with its name, no task module imported (only workers, the
    beat and the reports on running jobs import those); once they are, it has every task,
    beat entry and worker signal receiver it had when it was made at import."""
    probe = (
        f"WATCHED = {NO_CELERY_AT_START!r}\n"
        "import importlib, json, sys\n"
        "importlib.import_module('scoring.management.commands.score_file')\n"
        "started = sorted(m for m in WATCHED if m in sys.modules)\n"
        "from jobs import holders, registry\n"
        "assert not any(holders.lost_decision(job_type=t) for t in registry.registered())\n"
        "from celery import signals\n"
        "before = len(signals.worker_ready.receivers)\n"
        "from jobs.celery import TASK_QUEUES, celery_app, task_modules_loaded\n"
        "app = celery_app()\n"
        "seen = {'started': started,\n"
        f"  'task_modules': sorted(m for m in sys.modules if m in {TASK_MODULES!r}),\n"
        "  'made': sorted(n for n in app.tasks if not n.startswith('celery.')),\n"
        "  'queues': sorted(app.amqp.queues),\n"
        "  'routes': {n: app.amqp.router.route({}, n)['queue'].name for n in TASK_QUEUES},\n"
        "  'lost': sorted(t.key for t in registry.registered()\n"
        "                 if holders.lost_decision(job_type=t)),\n"
        "  'receivers': [before, len(signals.worker_ready.receivers)]}\n"
        "task_modules_loaded()\n"
        "from scoring.tasks import score_submission\n"
        "seen.update(tasks=sorted(n for n in app.tasks if not n.startswith('celery.')),\n"
        "  beat=sorted(app.conf.beat_schedule),\n"
        "  task=[score_submission.name, score_submission.acks_late,\n"
        "        score_submission.reject_on_worker_lost, score_submission.serializer,\n"
        "        app.amqp.router.route({}, score_submission.name)['queue'].name])\n"
        "print(json.dumps(seen))\n"
    )
    seen = _last_json_line(tmp_path, "manage.py", "shell", "--no-imports", "-c", probe)
    assert seen["started"] == [], f"imported at start: {seen['started']}"
    assert seen["task_modules"] == [] and seen["made"] == [], seen
    assert seen["lost"] == LOST_DECIDED
    assert seen["queues"] == QUEUES
    assert seen["routes"]["scoring.tasks.score_submission"] == "scoring"
    assert seen["routes"]["notifications.tasks.deliver_webhook"] == "notifications"
    assert seen["routes"]["algorithms.tasks.run_baseline"] == "baselines"
    assert set(seen["routes"].values()) <= set(seen["queues"])
    # The liveness's and the staging sweep's receivers, connected when the app was made.
    assert seen["receivers"][1] >= seen["receivers"][0] + 2, seen["receivers"]
    assert {"scoring.tasks.score_submission", "jobs.tasks.republish_lost_jobs"} <= set(
        seen["tasks"]
    )
    assert {"republish-lost-jobs", "sweep-stuck-submissions"} <= set(seen["beat"])
    assert seen["task"] == ["scoring.tasks.score_submission", True, True, "json", "scoring"]


# The job types whose services decide what a dead worker's running rows become
# (``jobs.holders.when_holder_lost``): a worker's liveness asks them when it sees one die.
LOST_DECIDED = [
    "algorithms.tasks.run_algorithm",
    "algorithms.tasks.run_baseline",
    "datasets.tasks.check_task_version",
    "leaderboard.tasks.check_champion",
    "notifications.tasks.deliver_webhook",
    "notifications.tasks.send_notification_mail",
    "scoring.tasks.build_trivial_reference",
    "scoring.tasks.score_submission",
]


def test_a_worker_makes_the_app_before_django_and_registers_every_task(tmp_path) -> None:
    """``celery -A challenge_platform`` finds the app, made before Django's start; its start
    then sets Django up (the apps' receivers, and the decisions for a dead worker's jobs,
    which the services register as they load: a command, which never makes the app, loads
    none of them) and imports every app's task module (Celery's autodiscovery)."""
    probe = (
        "import json\n"
        "from celery.app.utils import find_app\n"
        "app = find_app('challenge_platform')\n"
        "app.loader.import_default_modules()\n"  # the worker's start: Django, the task modules
        "from celery import signals\n"
        "from jobs import holders, registry\n"
        "print(json.dumps({'tasks': sorted(n for n in app.tasks if not n.startswith('celery.')),\n"
        "  'queues': sorted(app.amqp.queues),\n"
        "  'beat': sorted(app.conf.beat_schedule),\n"
        "  'lost': sorted(t.key for t in registry.registered()\n"
        "                 if holders.lost_decision(job_type=t)),\n"
        "  'init': len(signals.worker_init.receivers),\n"
        "  'ready': len(signals.worker_ready.receivers)}))\n"
    )
    seen = _last_json_line(tmp_path, "-c", probe)
    assert seen["lost"] == LOST_DECIDED
    assert {"scoring.tasks.score_submission", "algorithms.tasks.run_algorithm"} <= set(
        seen["tasks"]
    )
    assert seen["queues"] == QUEUES
    assert {"republish-lost-jobs", "sweep-stuck-submissions"} <= set(seen["beat"])
    assert seen["init"] >= 1 and seen["ready"] >= 2, seen


def test_an_unreachable_cache_is_still_caught_where_its_client_was_never_imported(
    tmp_path,
) -> None:
    """The boards name the errors of an unreachable cache only once one is raised
    (``runtime.localredis``): in a process that has not imported Redis's client,
    a refused connection is still caught and suppressed, and any other error is not."""
    probe = (
        "import json, sys\n"
        "from runtime.localredis import (\n"
        "    cache_unavailable_errors, cache_unavailable_suppressed, free_port)\n"
        "seen = {'imported': 'redis' in sys.modules}\n"
        "import redis\n"
        "client = redis.Redis(port=free_port(), socket_connect_timeout=2)\n"
        "try:\n"
        "    client.ping()\n"
        "except cache_unavailable_errors() as exc:\n"
        "    seen['caught'] = type(exc).__name__\n"
        "with cache_unavailable_suppressed:\n"
        "    client.set('k', 1)\n"
        "seen['suppressed'] = True\n"
        "try:\n"
        "    with cache_unavailable_suppressed:\n"
        "        raise ValueError('a bug, not an outage')\n"
        "except ValueError:\n"
        "    seen['other'] = 'raised'\n"
        "print(json.dumps(seen))\n"
    )
    seen = _last_json_line(tmp_path, "-c", probe)
    assert seen == {
        "imported": False,
        "caught": "ConnectionError",
        "suppressed": True,
        "other": "raised",
    }


def test_a_web_worker_loads_the_url_configuration_before_its_first_request(tmp_path) -> None:
    """A command never loads allauth's provider registry (it imports requests and urllib3);
    a gunicorn worker does, with the URL configuration, once it loaded the application
    (``challenge_platform.gunicorn_config.post_worker_init``), so no request waits for it."""
    probe = (
        "import json, sys\n"
        "from challenge_platform.wsgi import application\n"
        "from allauth.socialaccount.providers import registry\n"
        "seen = {'app': [registry.loaded, 'challenge_platform.urls' in sys.modules]}\n"
        "from challenge_platform import gunicorn_config\n"
        "gunicorn_config.post_worker_init(None)\n"
        "seen['worker'] = [registry.loaded, 'challenge_platform.urls' in sys.modules,\n"
        "                  sorted(registry.provider_map)]\n"
        "print(json.dumps(seen))\n"
    )
    seen = _last_json_line(tmp_path, "-c", probe)
    assert seen == {"app": [False, False], "worker": [True, True, ["openid_connect"]]}


def test_manage_py_starts_without_collecting_and_collects_once_set_up(tmp_path) -> None:
    """The start allocates some 200,000 objects that no collection can free: manage.py
    pauses the cyclic collector until Django is set up, then runs it again with the start's
    objects frozen (out of every later collection's reach)."""
    probe = (
        "import gc, json; print(json.dumps({'enabled': gc.isenabled(), "
        "'frozen': gc.get_freeze_count(), "
        "'collections': sum(s['collections'] for s in gc.get_stats())}))"
    )
    state = _last_json_line(tmp_path, "manage.py", "shell", "--no-imports", "-c", probe)
    assert state["enabled"] is True
    assert state["frozen"] > 50_000
    # Without the pause the start sets off some 300 collections (2026-11: 268 young, 24
    # middle, 2 full); what the shell command does once set up sets off about 20.
    assert state["collections"] < 60, state


def _last_json_line(tmp_path: Path, *args: str) -> dict:
    """The last line ``python *args`` prints, as JSON, run as a user's command starts."""
    done = subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env=_environment(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def _environment(tmp_path: Path) -> dict[str, str]:
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE")
    }
    environment.update(
        DJANGO_SETTINGS_MODULE="challenge_platform.settings.local",
        DATA_DIR=str(tmp_path),
        SECRET_KEY="a-key-for-this-test-only",
        PYTHONPATH=str(ROOT),
    )
    return environment
