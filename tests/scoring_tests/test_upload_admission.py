"""Refusals that need no byte of the file come before the body is read (web form and API).

The request's body is a stream that records every read: a refused upload must leave it
untouched, however large the body it announces. Then one real socket against the live
server: a 150 MB upload announced by a participant over the daily limit is refused at once, while
the client has sent nothing of it.
"""

from __future__ import annotations

import socket
import time

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from scoring.models import Submission, SubmissionStatus
from tests.challenges_tests.factories import api_key
from tests.scoring_tests.factories import make_participant

from .upload_admission_helpers import UntouchableBody

pytestmark = pytest.mark.django_db

HUGE = 10 * 1024**3  # 10 GB announced
LARGE = 150 * 1024**2  # under the size cap: only the other rules can refuse it




@pytest.fixture
def task(module_tasks):
    return module_tasks["classification"]


@pytest.fixture
def alice(task):
    return make_participant(task.track.challenge, username="alice", name="Alpha")


def _post(client: Client, url: str, *, length: int, **extra):
    body = UntouchableBody()
    response = client.generic(
        "POST", url, b"", content_type="multipart/form-data; boundary=xyz",
        **{"CONTENT_LENGTH": str(length), "wsgi.input": body, **extra},
    )  # fmt: skip
    return response, body


def _web(user) -> Client:
    client = Client(enforce_csrf_checks=True)  # as a browser: CSRF would read the body
    client.force_login(user)
    return client


def _api(user) -> tuple[Client, dict]:
    token = api_key(user)
    return Client(), {"HTTP_AUTHORIZATION": f"Token {token}"}


def _use_up_the_day(task, participant) -> None:
    challenge = task.track.challenge
    challenge.daily_submission_limit = 1
    challenge.save()
    Submission.objects.create(
        task=task, team=participant.team, uploaded_by=participant.user, file="x.csv",
        status=SubmissionStatus.SCORED, status_changed_at=timezone.now(),
    )  # fmt: skip


@pytest.mark.parametrize("way", ["web", "api-token", "api-session"])
def test_a_body_over_the_cap_is_refused_unread(task, alice, way) -> None:
    length = settings.SUBMISSION_MAX_BYTES + 10 * 1024 * 1024
    if way == "web":
        response, body = _post(_web(alice.user), f"/tasks/{task.slug}/submit/", length=length)
        assert response.status_code == 302
    elif way == "api-token":
        client, auth = _api(alice.user)
        response, body = _post(
            client, f"/api/v1/tasks/{task.slug}/submissions/", length=length, **auth
        )
        assert response.status_code == 413
        assert response.json()["code"] == "too_large"
    else:
        response, body = _post(
            _web(alice.user), f"/api/v1/tasks/{task.slug}/submissions/", length=length
        )
        assert response.status_code == 413
        assert response.json()["code"] == "too_large"
    assert body.reads == 0
    assert not Submission.objects.filter(team=alice.team).exists()


@pytest.mark.parametrize("way", ["web", "api-token", "api-session"])
def test_the_daily_limit_refuses_before_the_body(task, alice, way) -> None:
    _use_up_the_day(task, alice)
    url_web, url_api = f"/tasks/{task.slug}/submit/", f"/api/v1/tasks/{task.slug}/submissions/"
    if way == "web":
        client = _web(alice.user)
        response, body = _post(client, url_web, length=LARGE)
        assert response.status_code == 302 and response["Location"] == url_web
        shown = [str(m) for m in response.wsgi_request._messages]
        assert any("used its 1 submissions" in text for text in shown), shown
    else:
        client, auth = _api(alice.user) if way == "api-token" else (_web(alice.user), {})
        response, body = _post(client, url_api, length=LARGE, **auth)
        assert response.status_code == 429
        assert response.json()["code"] == "daily_limit"
        assert response["Retry-After"].isdigit()
    assert body.reads == 0


@pytest.mark.parametrize("way", ["web", "api-token"])
def test_no_team_refuses_before_the_body(task, way, django_user_model) -> None:
    loner = django_user_model.objects.create_user("loner", password="x")
    if way == "web":
        response, body = _post(_web(loner), f"/tasks/{task.slug}/submit/", length=HUGE)
        assert response.status_code == 302
    else:
        client, auth = _api(loner)
        response, body = _post(
            client, f"/api/v1/tasks/{task.slug}/submissions/", length=HUGE, **auth
        )
        assert (response.status_code, response.json()["code"]) == (403, "no_team")
    assert body.reads == 0


def test_an_admitted_upload_is_still_checked_by_csrf(task, alice) -> None:
    """The early check only refuses: an upload it lets through meets the CSRF check as before."""
    response = _web(alice.user).post(f"/tasks/{task.slug}/submit/", {"note": "x"})
    assert response.status_code == 403  # no CSRF token


@pytest.mark.django_db(transaction=True)
def test_a_huge_upload_over_the_limit_is_refused_at_once_on_a_real_socket(
    live_server, task, alice
) -> None:
    _use_up_the_day(task, alice)
    token = api_key(alice.user)
    host, port = live_server.url.removeprefix("http://").split(":")
    head = (
        f"POST /api/v1/tasks/{task.slug}/submissions/ HTTP/1.1\r\n"
        f"Host: {host}\r\nAuthorization: Token {token}\r\n"
        "Content-Type: multipart/form-data; boundary=xyz\r\n"
        f"Content-Length: {LARGE}\r\n\r\n"
    ).encode()
    started = time.monotonic()
    with socket.create_connection((host, int(port)), timeout=20) as sock:
        sock.sendall(head + b"--xyz\r\n")  # and not one byte more
        answer = b""
        while b'"code"' not in answer and (data := sock.recv(65536)):
            answer += data
    assert answer.startswith(b"HTTP/1.1 429"), answer[:200]
    assert b'"code":"daily_limit"' in answer.replace(b" ", b"")
    assert time.monotonic() - started < 15
