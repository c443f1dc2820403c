"""Rate limits, CSRF, upload caps, CSV exports, security headers, and the fuzzer's findings."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import HttpResponse
from django.test import Client

from challenges.models import Challenge, Team
from leaderboard.models import LeaderboardEntry
from scoring.models import Submission
from tests.security_tests.authorization_matrix_helpers import ADMIN, API, MATRIX, SITE, Case, fill
from tests.security_tests.world import PASSWORD, World, client_for

pytestmark = pytest.mark.django_db
REPO = Path(__file__).resolve().parents[2]


def api_login(client: Client, world: World, password: str, **headers) -> int:
    data = {"username": world.users["b"].username, "password": password}
    return client.post("/api/v1/auth/token/", data, **headers).status_code


def web_login(client: Client, world: World, password: str, **headers):
    data = {"username": world.users["b"].username, "password": password}
    return client.post("/accounts/login/", data, **headers)


# --- rate limits -----------------------------------------------------------------------


def test_login_attempts_are_limited_per_address_across_the_form_and_the_api(world):
    client = Client()
    for attempt in range(10):
        assert web_login(client, world, "wrong").status_code == 200, attempt
        assert api_login(client, world, "wrong") == 400, attempt
    refused = web_login(client, world, PASSWORD)  # even the right password waits now
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    page = refused.content.decode()
    assert "Too many login attempts" in page and "try again" in page
    assert "_auth_user_id" not in client.session
    assert api_login(client, world, PASSWORD) == 429
    # Another address still logs in.
    assert web_login(Client(REMOTE_ADDR="10.9.8.7"), world, PASSWORD).status_code == 302


def test_a_forged_x_forwarded_for_does_not_buy_more_login_attempts(world):
    client = Client()
    codes = [
        api_login(client, world, "wrong", HTTP_X_FORWARDED_FOR=f"203.0.113.{i}") for i in range(25)
    ]
    assert codes[:20] == [400] * 20 and set(codes[20:]) == {429}


def test_uploads_are_limited_per_team_across_the_forms_and_the_api(world, settings):
    """One budget per team (``TEAM_UPLOAD_RATE``) on every path: the submit form, the API and
    the algorithm form; past it the form shows the refusal with 429, the API answers the
    documented refusal, and nothing is stored."""
    settings.TEAM_UPLOAD_RATE = "3/minute"
    web = client_for(world, "a")
    api = Client(HTTP_AUTHORIZATION=f"Token {world.tokens['a']}")
    before = Submission.objects.count()

    def send(client: Client, url: str):
        return client.post(url, {"file": SimpleUploadedFile("p.csv", world.files["a"])})

    assert send(web, f"/tasks/{world.task.slug}/submit/").status_code == 302
    assert send(api, f"/api/v1/tasks/{world.task.slug}/submissions/").status_code == 201
    assert send(web, f"/tasks/{world.task.slug}/submit/").status_code == 302
    page = send(web, f"/tasks/{world.task.slug}/submit/")
    assert page.status_code == 429 and int(page["Retry-After"]) > 0
    shown = page.content.decode()
    assert "Too many uploads: your team sent 3 in the last minute" in shown
    assert re.search(r'data-role="upload-error" role="alert">Too many uploads', shown)
    refused = send(api, f"/api/v1/tasks/{world.task.slug}/submissions/")
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    body = refused.json()
    assert body["code"] == "rate_limited" and body["retry_after"]  # the documented refusal
    archive = web.post(
        "/algorithms/upload/",
        {"challenge": world.challenge.slug, "file": SimpleUploadedFile("a.zip", b"PK")},
    )
    assert archive.status_code == 429 and "Too many uploads" in archive.content.decode()
    assert Submission.objects.count() == before + 3
    # Another team's budget is untouched.
    other = Client(HTTP_AUTHORIZATION=f"Token {world.tokens['b']}")
    assert send(other, f"/api/v1/tasks/{world.task.slug}/submissions/").status_code == 201


# --- CSRF ----------------------------------------------------------------------------


# Deliberately without CSRF: a mail client's RFC 8058 one-click unsubscribe POSTs from outside
# the site; the signed token in the URL is the credential (tests/notifications_tests).
CSRF_EXEMPT_ROUTES = {"notifications/unsubscribe/<str:token>/"}


def csrf_cases():
    """Every state-changing web form of the matrix, and the admin's own forms."""
    web = [c for c in SITE + ADMIN if c.method == "POST" and c.route not in CSRF_EXEMPT_ROUTES]
    admin_forms = [
        "/admin/challenges/challenge/{obj}/change/",
        "/admin/challenges/challenge/",  # the changelist's actions
        "/admin/challenges/team/add/",
        "/admin/datasets/task/import/",
        "/admin/datasets/task/{task_pk}/replace/",
        "/admin/baselines/baselinerun/queue/",
        "/admin/password_change/",
    ]
    return web, admin_forms


def test_every_state_changing_web_form_refuses_a_post_without_the_csrf_token(world):
    web, admin_forms = csrf_cases()
    assert len(web) >= 10
    refused_as = {}
    for role in ("a", "org"):
        client = client_for(world, role, enforce_csrf_checks=True)
        for case in web:
            path = fill(case, world)
            data = case.data(world) if case.data else {}
            refused_as[(role, path)] = client.post(path, data).status_code
        if role == "org":
            for path in admin_forms:
                path = path.replace("{obj}", str(world.challenge.pk))
                path = path.replace("{task_pk}", str(world.task.pk))
                data = {"action": "reveal_private", "_selected_action": [world.challenge.pk]}
                refused_as[(role, path)] = client.post(path, data).status_code
    # The login forms are CSRF-protected for anonymous visitors too.
    anonymous = Client(enforce_csrf_checks=True)
    credentials = {"username": world.users["b"].username, "password": PASSWORD}
    for path in ("/accounts/login/", "/admin/login/"):
        refused_as[("anon", path)] = anonymous.post(path, credentials).status_code
    # An upload the rules refuse anyway (the organizer is in no team) is refused before the
    # CSRF check reads its body (scoring.admission): a redirect back, nothing stored.
    early = ("org", f"/tasks/{world.task.slug}/submit/")
    assert refused_as.pop(early) == 302
    accepted = {key: code for key, code in refused_as.items() if code != 403}
    assert not accepted, f"POSTs accepted without a CSRF token: {accepted}"
    assert not Submission.objects.filter(uploaded_by=world.users["org"]).exists()
    world.challenge.refresh_from_db()
    assert not world.challenge.private_revealed
    assert world.team_a.memberships.filter(user=world.users["a"]).exists()


def _send(client: Client, case: Case, world: World) -> HttpResponse:
    """A write of the matrix as the client: POST as a form, PATCH as the API's JSON."""
    data = case.data(world) if case.data else {}
    if case.method == "POST":
        return client.post(fill(case, world), data)
    return client.generic(
        case.method, fill(case, world), json.dumps(data), content_type="application/json"
    )


def test_session_authenticated_api_calls_need_the_csrf_token_and_token_calls_do_not(world):
    writes = [
        c for c in API if c.method in ("POST", "PATCH") and c.route != "api/v1/auth/token/"
    ]
    # teams, join, submissions, rules accept, baselines (2 tasks); algorithms, runs, cancel;
    # reference upload and primary choice; a new data version (2 tasks); a release check;
    # a new phase and a phase's change
    assert len(writes) == 16
    session = client_for(world, "org", enforce_csrf_checks=True)
    token = Client(enforce_csrf_checks=True, HTTP_AUTHORIZATION=f"Token {world.tokens['org']}")
    for case in writes:
        without = _send(session, case, world)
        assert without.status_code == 403, (case.path, without.status_code)
        if without.json().get("code") == "no_team":
            # The organizer is in no team: the upload is refused before CSRF reads the body.
            assert case.path.endswith("/submissions/")
            continue
        assert "CSRF" in without.json()["detail"]
    assert not Team.objects.filter(name="Matrix API team", challenge=world.challenge).exists()
    assert not world.challenge.phases.filter(title="Matrix phase").exists()
    for case in writes:
        with_token = _send(token, case, world)
        assert "CSRF" not in with_token.content.decode(), case.path
    assert Team.objects.filter(name="Matrix API team", challenge=world.challenge).exists()
    assert world.challenge.phases.filter(title="Matrix phase").exists()


# --- upload caps ------------------------------------------------------------------------


def test_an_oversized_submission_is_refused_through_the_api_and_the_form(world, settings):
    settings.SUBMISSION_MAX_BYTES = 200
    before = Submission.objects.count()
    api = Client(HTTP_AUTHORIZATION=f"Token {world.tokens['a']}")
    big = SimpleUploadedFile("p.csv", world.files["a"])
    response = api.post(f"/api/v1/tasks/{world.task.slug}/submissions/", {"file": big})
    assert response.status_code == 413
    assert response.json()["code"] == "too_large" and "the limit is" in response.json()["detail"]
    web = client_for(world, "a")
    page = web.post(
        f"/tasks/{world.task.slug}/submit/",
        {"file": SimpleUploadedFile("p.csv", world.files["a"])},
        follow=True,
    )
    assert "the limit is 200 bytes" in page.content.decode()  # shown on the submit page
    assert Submission.objects.count() == before


# --- exports ------------------------------------------------------------------------------


def test_every_csv_response_in_the_code_goes_through_the_safe_export():
    """A module that answers ``text/csv`` builds the body with ``rows_to_csv``; nothing but
    ``common.export`` and the named data-file writers writes CSV itself."""
    apps = ("challenge_platform", "datasets", "scoring", "leaderboard", "algorithms")  # served
    data_writers = {
        "common/export.py",  # the one safe writer
        # Data files, not exports of user input (a quote would corrupt the values):
        "datasets/core/tables.py",  # the standardized task files
        "datasets/demo/bundle.py",  # the demo bundles built from public data
        # AutoGluon's model leaderboard (model names and numbers AutoGluon writes; no user
        # text), streamed to organizers only.
        "algorithms/builtin/autogluon/runner.py",
    }
    responders, writers = [], []
    for path in sorted(p for app in apps for p in (REPO / app).rglob("*.py")):
        rel = path.relative_to(REPO).as_posix()
        if "/migrations/" in rel:
            continue
        text = path.read_text(encoding="utf-8")
        if re.search(r"content_type=[\"']text/csv", text):  # answers CSV (not a data type's name)
            responders.append(rel)
            assert "rows_to_csv(" in text, f"{rel} answers text/csv without rows_to_csv"
        if re.search(r"csv\.(writer|DictWriter)\(|\.to_csv\(", text):
            writers.append(rel)
    assert {"leaderboard/views.py", "scoring/admin.py"} <= set(responders)
    unexpected = set(writers) - data_writers
    assert not unexpected, f"CSV written outside common.export: {sorted(unexpected)}"


def test_the_organizers_submission_export_neutralizes_formulas(world):
    Submission.objects.filter(pk=world.submission_b.pk).update(note="=cmd|' /C calc'!A0")
    Team.objects.filter(pk=world.team_b.pk).update(name="+SUM(1,2)")
    response = client_for(world, "org").post(
        "/admin/scoring/submission/",
        {"action": "export_csv", "_selected_action": [world.submission_b.pk]},
    )
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    text = response.content.decode()
    assert "'=cmd|" in text and "'+SUM(1,2)" in text


@pytest.mark.parametrize("split", ["public", "private"])
def test_no_formula_reaches_a_spreadsheet_from_any_export(world, split):
    Team.objects.filter(pk=world.team_a.pk).update(name='=HYPERLINK("http://x","click")')
    Team.objects.filter(pk=world.team_b.pk).update(name="@SUM(A1:A9)")
    Challenge.objects.filter(pk=world.challenge.pk).update(private_revealed=True)
    assert LeaderboardEntry.objects.filter(task=world.task, split=split).count() == 2
    for path in (
        f"/tasks/{world.task.slug}/leaderboard.csv?split={split}",
        f"/tracks/{world.task.track.slug}/leaderboard.csv?split={split}",
    ):
        text = Client().get(path).content.decode()
        assert "'=HYPERLINK(" in text and "'@SUM(A1:A9)" in text, path
        cells = [cell for line in text.splitlines()[1:] for cell in line.split(",")]
        assert not [c for c in cells if c.lstrip('"').startswith(("=", "+", "@"))], path


# --- headers -----------------------------------------------------------------------------


def csp_of(response) -> dict[str, list[str]]:
    policy = response["Content-Security-Policy"]
    return {d.split()[0]: d.split()[1:] for d in policy.split("; ")}


@pytest.mark.parametrize(
    "path",
    ["/", "/tasks/{task}/", "/api/v1/tasks/", "/tasks/{task}/files/train.csv", "/admin/"],
)
def test_security_headers_on_pages_json_and_files(world, path):
    response = client_for(world, "org").get(fill(Case("", path, ("",) * 4), world))
    assert response.status_code == 200
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"
    csp = csp_of(response)
    assert csp["default-src"] == ["'self'"] and csp["frame-ancestors"] == ["'none'"]
    assert csp["object-src"] == ["'none'"]
    for directive in ("script-src", "style-src"):
        assert csp[directive][0] == "'self'" and len(csp[directive]) == 2
        assert csp[directive][1].startswith("'nonce-")


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)([^>]*)>", re.I)
INLINE_STYLE = re.compile(r"<style([^>]*)>", re.I)
STYLE_ATTR = re.compile(r"<[a-z][^>]*\sstyle=", re.I)
HANDLER_ATTR = re.compile(r"<[a-z][^>]*\son[a-z]+=", re.I)


def test_no_page_needs_what_the_policy_refuses(world):
    """Every HTML page of the matrix, as organizer and participant: inline scripts and styles
    carry the response's nonce; no style attributes, no event-handler attributes."""
    problems = []
    pages = 0
    for role in ("a", "org"):
        client = client_for(world, role)
        for case in MATRIX:
            if case.method != "GET":
                continue
            response = client.get(fill(case, world))
            if response.status_code != 200 or "text/html" not in response.get("Content-Type", ""):
                continue
            if case.route == "api/v1/docs/":
                continue  # Swagger UI: its own policy (CDN, inline styles), no user data
            pages += 1
            html = response.content.decode()
            nonce = csp_of(response)["script-src"][1][len("'nonce-") : -1]
            for pattern, what in ((INLINE_SCRIPT, "script"), (INLINE_STYLE, "style")):
                for attrs in pattern.findall(html):
                    if f'nonce="{nonce}"' not in attrs:
                        problems.append(f"{case.path} as {role}: inline <{what}{attrs}>")
            for pattern, what in ((STYLE_ATTR, "style attribute"), (HANDLER_ATTR, "on* handler")):
                for hit in pattern.findall(html):
                    problems.append(f"{case.path} as {role}: {what} in {hit[:80]!r}")
    assert pages >= 40
    assert not problems, "\n".join(problems)


def test_the_docs_page_loads_swagger_ui_from_this_site_only(world):
    docs = Client().get("/api/v1/docs/")
    assert docs.status_code == 200
    csp = csp_of(docs)
    assert "https:" not in docs["Content-Security-Policy"]  # no CDN, any directive
    assert csp["script-src"][0] == "'self'" and "'unsafe-inline'" not in csp["script-src"]
    html = docs.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    assert "cdn.jsdelivr.net" not in html
    script = Client().get("/api/v1/docs/?script=")  # the split view's start-up script
    assert script.status_code == 200 and "SwaggerUIBundle" in script.content.decode()
    assert "<script>" not in docs.content.decode()


def test_a_rate_limited_page_and_an_error_page_carry_the_headers_too(world):
    response = Client().get("/no-such-page/")
    assert response.status_code == 404
    assert "Content-Security-Policy" in response and response["X-Frame-Options"] == "DENY"


# --- what the fuzzer found ---------------------------------------------------------------


def test_huge_pagination_numbers_give_a_page_not_a_500(world):
    api = Client(HTTP_AUTHORIZATION=f"Token {world.tokens['a']}")
    for query in ("limit=76899096137174475603968&offset=0", "offset=99999999999999999999999"):
        response = api.get(f"/api/v1/submissions/?{query}")
        assert response.status_code == 200, query
    for query in ("offset=-866", "limit=0", "limit=1.5", "offset=null"):  # not what the schema says
        response = api.get(f"/api/v1/submissions/?{query}")
        assert response.status_code == 400, query
        assert set(response.json()) <= {"limit", "offset"}, query
    capped = api.get("/api/v1/tasks/?limit=99999999999")
    assert capped.status_code == 200 and capped.json()["count"] >= 1


def test_a_nul_character_in_the_address_is_a_400_not_a_500(world):
    api = Client(HTTP_AUTHORIZATION=f"Token {world.tokens['a']}")
    for path in ("/api/v1/submissions/?task=%00", "/api/v1/tasks/?challenge=a%00b"):
        assert api.get(path).status_code == 400, path
    assert client_for(world, "a").get("/join/ab%00cd/").status_code == 400


def test_a_session_cookie_with_a_nul_is_no_session_not_a_500(world):
    client = Client()
    client.cookies["sessionid"] = "abcdefgh\\000ijk"  # the cookie parser unescapes \000 to NUL
    response = client.get("/")
    assert response.status_code == 200
    assert client.get(f"/tasks/{world.task.slug}/files/train.csv").status_code == 302  # anonymous
