"""The addresses the README and docs/ write are the site's: every ``METHOD /path`` in inline
code, and every ``/api/v1/...`` path, resolves to a view that answers that method.

Written paths are full (``GET /api/v1/algorithms/``, not ``GET algorithms/``): a relative one
read after another path gave a reader 405 and 404 (the algorithms API's list and detail
paths read after ``POST /api/v1/challenges/<slug>/algorithms/``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.test import Client
from django.urls import Resolver404, resolve

REPO = Path(__file__).resolve().parents[2]
DOCS = [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md"))]
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
API = "/api/v1/"

FENCE = re.compile(r"^```.*?^```", re.S | re.M)
CODE = re.compile(r"`([^`]+)`")
WRITTEN = re.compile(rf"({'|'.join(METHODS)}) (\S+)")
PLACEHOLDER = re.compile(r"<([^<>/]+)>")


@dataclass(frozen=True)
class Mention:
    where: str  # file:line
    text: str  # the inline code as written, on one line
    method: str | None
    path: str


def mentions(text: str, name: str) -> list[Mention]:
    """The addresses in ``text``'s inline code: ``METHOD path`` (the path may wrap onto the
    next line) and bare ``/api/v1/...`` paths. Fenced blocks are shell sessions, not read."""
    text = FENCE.sub(lambda m: "\n" * m.group(0).count("\n"), text)
    found = []
    for match in CODE.finditer(text):
        if "\n\n" in match.group(1):
            continue  # not one inline span
        code = " ".join(match.group(1).split())
        where = f"{name}:{text.count(chr(10), 0, match.start()) + 1}"
        written = WRITTEN.match(code)
        if written:
            method, path = written.groups()
        elif code.startswith(API):
            method, path = None, code.split()[0]
        else:
            continue
        found.append(Mention(where, code, method, path.split("?")[0].rstrip(".,;:")))
    return found


def _sample(placeholder: re.Match) -> str:
    """A value for ``<slug>``, ``<id>``, ``<a|b>``...: the first choice, else a number for
    ids, else a slug."""
    name = placeholder.group(1)
    if "|" in name:
        return name.split("|")[0]
    return "1" if name in ("id", "pk", "n") or name.endswith(("_id", "-id")) else "some-slug"


def problem(mention: Mention, client: Client) -> str | None:
    """Why ``mention`` is not an address of this site answering its method, or None."""
    if not mention.path.startswith("/"):
        return (
            "write the full path (from /): a relative one reads as relative to the path before it"
        )
    if mention.path == API:
        return None  # the API's prefix, named as such
    path = PLACEHOLDER.sub(_sample, mention.path)
    try:
        match = resolve(path)
    except Resolver404:
        return f"no route for {path}"
    if mention.method is None:
        return None
    view = getattr(match.func, "cls", None) or getattr(match.func, "view_class", None)
    if view is not None:
        allowed = {m.upper() for m in view.http_method_names if hasattr(view, m)}
        if mention.method not in allowed:
            return f"{view.__name__} answers {sorted(allowed - {'OPTIONS'})}, not {mention.method}"
        return None
    # A function view: only a request says which methods it takes (405 from its decorator).
    answer = client.generic(mention.method, path)
    if answer.status_code == 405:
        return f"{match.view_name} answers {answer.get('Allow')}, not {mention.method}"
    return None


def all_mentions() -> list[Mention]:
    return [
        m
        for doc in DOCS
        for m in mentions(doc.read_text(encoding="utf-8"), str(doc.relative_to(REPO)))
    ]


@pytest.mark.django_db
def test_every_written_address_answers_its_method() -> None:
    found = all_mentions()
    manual = [m for m in found if m.where.startswith("docs/participants/")]
    assert len(manual) >= 20, manual  # the parser still finds the participants' addresses
    assert any(m.path == "/api/v1/algorithms/<id>/" for m in manual)
    client = Client()
    problems = [f"{m.where}: `{m.text}`: {why}" for m in found if (why := problem(m, client))]
    assert not problems, "\n".join(problems)


@pytest.mark.django_db
def test_the_check_finds_what_a_reader_would_trip_over() -> None:
    text = (
        "Create with `POST /api/v1/challenges/<slug>/algorithms/`, then `GET algorithms/`,\n"
        "`DELETE /api/v1/tasks/<slug>/`, `GET /api/v1/no-such-thing/`, `PUT\n"
        "/api/v1/algorithm-runs/<id>/cancel/` and `/api/v1/tasks/<slug>/nope/`; fine:\n"
        "`GET /api/v1/tasks/<slug>/files/<train|test>.<csv|parquet>` and `GET /healthz`.\n"
        "```bash\nGET not-read/\n```\n"
    )
    client = Client()
    verdicts = {m.text: problem(m, client) for m in mentions(text, "x.md")}
    assert set(verdicts) == {
        "POST /api/v1/challenges/<slug>/algorithms/",
        "GET algorithms/",
        "DELETE /api/v1/tasks/<slug>/",
        "GET /api/v1/no-such-thing/",
        "PUT /api/v1/algorithm-runs/<id>/cancel/",
        "/api/v1/tasks/<slug>/nope/",
        "GET /api/v1/tasks/<slug>/files/<train|test>.<csv|parquet>",
        "GET /healthz",
    }
    assert verdicts["POST /api/v1/challenges/<slug>/algorithms/"] is None
    assert verdicts["GET algorithms/"].startswith("write the full path")
    assert "not DELETE" in verdicts["DELETE /api/v1/tasks/<slug>/"]
    assert verdicts["GET /api/v1/no-such-thing/"] == "no route for /api/v1/no-such-thing/"
    assert "not PUT" in verdicts["PUT /api/v1/algorithm-runs/<id>/cancel/"]
    assert verdicts["/api/v1/tasks/<slug>/nope/"] == "no route for /api/v1/tasks/some-slug/nope/"
    assert verdicts["GET /api/v1/tasks/<slug>/files/<train|test>.<csv|parquet>"] is None
    assert verdicts["GET /healthz"] is None
