"""A queue nobody consumes is visible where operators look: the health panel (``/admin/health/``)
and the console's dashboard (``operations.selectors.queue_health``).

The case that prompted it: without the Procfile's ``renders`` process, each score publishes
board renders (``leaderboard.cache.prerender.request_after_bump``) that pile up on
``board_renders``.
Here the messages are published through the job lifecycle on the session's real Redis, and
the consumers are real Celery workers, seen through the liveness entries they beat.
"""

from __future__ import annotations

import html
import os
import re
import signal

import pytest

from jobs import lifecycle
from jobs.celery import app
from jobs.liveness import live_nodes
from leaderboard import task_names
from leaderboard.cache import prerender
from runtime.localredis import free_port
from runtime.procfile import queue_processes
from tests.support.broker import priority_lists, queue_length
from tests.support.waiting import wait_for

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def no_renders_backlog(redis_client):
    redis_client.delete(*priority_lists(prerender.QUEUE))
    yield
    redis_client.delete(*priority_lists(prerender.QUEUE))


def queue_row(page: str, queue: str) -> tuple[int, str]:
    """``(messages waiting, consumers)`` of ``queue``'s row on the health panel."""
    found = re.search(
        rf'<tr data-queue="{queue}">.*?class="queue-waiting">(\d+)</td>\s*'
        r'<td class="queue-consumers">(.*?)</td>',
        page,
        re.S,
    )
    assert found, page
    return int(found.group(1)), found.group(2)


def page_text(organizer_client, path: str) -> str:
    """The page at ``path`` as a browser shows its text (entities decoded)."""
    answer = organizer_client.get(path)
    assert answer.status_code == 200
    return html.unescape(answer.content.decode())


def health(organizer_client) -> str:
    return page_text(organizer_client, "/admin/health/")


def test_every_platform_queue_has_a_procfile_process_to_name(settings):
    """The warning names the process to start: every queue has one."""
    assert set(queue_processes()) >= set(settings.TASK_QUEUE_NAMES)
    assert queue_processes()[prerender.QUEUE] == "renders"


@pytest.mark.timeout(300)
def test_a_backlog_nobody_consumes_is_a_warning_until_a_worker_consumes_it(
    organizer_client, redis_client, no_renders_backlog, worker_factory
):
    for pk in (1, 2, 3):  # three boards scored, no renders process
        assert lifecycle.publish(task_name=task_names.RENDER_BOARDS, scope="task", pk=pk)
    assert queue_length(redis_client, prerender.QUEUE) == 3
    page = health(organizer_client)
    assert queue_row(page, prerender.QUEUE) == (3, "none")
    warning = (
        "3 message(s) wait on board_renders and no worker consumes it: start the Procfile's"
        " renders process (docker/entrypoint.sh renders)"
    )
    assert f'data-queue-warning="{prerender.QUEUE}"' in page and warning in page
    assert warning in page_text(organizer_client, "/admin/")  # the dashboard says it too

    # A worker on other queues changes nothing for this one.
    scoring = worker_factory(queues="scoring", concurrency=1, name="scoring")
    scoring.wait_ready(timeout=120)
    wait_for(
        lambda: scoring.nodename in live_nodes(queue="scoring"),
        timeout=60,
        what="the scoring worker's beat",
        worker=scoring,
    )
    page = health(organizer_client)
    assert queue_row(page, "scoring")[1] == scoring.nodename
    assert queue_row(page, prerender.QUEUE) == (3, "none") and warning in page

    # The renders process: it consumes the queue, the backlog drains, the warning goes.
    # (Its beat's key lives 600 s: frozen below, it still counts as alive, as a busy worker.)
    renders = worker_factory(
        queues=prerender.QUEUE,
        concurrency=1,
        name="renders",
        env={"WORKER_LOST_AFTER_SECONDS": "600"},
    )
    renders.wait_ready(timeout=120)
    wait_for(
        lambda: queue_row(health(organizer_client), prerender.QUEUE) == (0, renders.nodename),
        timeout=60,
        what="the renders worker consuming the backlog",
        worker=renders,
    )
    page = health(organizer_client)
    assert f'data-queue-warning="{prerender.QUEUE}"' not in page
    assert "wait on board_renders" not in page
    assert "wait on board_renders" not in page_text(organizer_client, "/admin/")

    # A backlog a live worker is working through is no warning: the worker frozen (SIGSTOP),
    # the new messages wait (one may sit in its connection already), still no warning.
    os.killpg(renders.process.pid, signal.SIGSTOP)
    try:
        for pk in (4, 5, 6):
            assert lifecycle.publish(task_name=task_names.RENDER_BOARDS, scope="task", pk=pk)
        page = health(organizer_client)
        waiting, consumers = queue_row(page, prerender.QUEUE)
        assert waiting >= 2 and consumers == renders.nodename, page
        assert "wait on board_renders" not in page
    finally:
        os.killpg(renders.process.pid, signal.SIGCONT)
    wait_for(
        lambda: queue_length(redis_client, prerender.QUEUE) == 0,
        timeout=60,
        what="the renders worker, thawed, consuming the rest",
        worker=renders,
    )


def test_an_unreachable_broker_is_said_not_a_server_error(organizer_client, monkeypatch):
    monkeypatch.setattr(app.conf, "broker_url", f"redis://127.0.0.1:{free_port()}/0")
    page = health(organizer_client)
    assert "Queues unknown: the broker did not answer" in page
    assert 'id="health-queues"' not in page
    assert "Queues unknown: the broker did not answer" in page_text(organizer_client, "/admin/")
