"""A database made under the old app label (``challenge_platform``) upgrades to ``challenges``
with every row kept (docs/decisions/0077-the-challenges-app-label.md).

The old database is real: the code of the last commit with the old label (from git) migrates
it and writes teams, a membership, a submission, permissions (a user's and a group's), an
admin log entry and an audit event; then this code's ``manage.py migrate`` (what every
upgrade path runs) renames it. Every table's rows must be the same (the renamed names
mapped), every foreign key must point at the renamed tables, the permissions and the admin
log must still resolve, and a second ``migrate`` must change nothing. On SQLite, and on
PostgreSQL when the suite runs there (a scratch database beside the test one).
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import tarfile
from io import BytesIO
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

REPO = Path(__file__).resolve().parents[2]
# The last commit of main whose challenges app had the label challenge_platform.
OLD_COMMIT = "167c164ca0877b47f1152747af4c94880f31a4a5"
OLD, NEW = "challenge_platform", "challenges"
NEW_MIGRATIONS = {(NEW, "0022_auditevent_index_under_the_new_label")}

pytestmark = pytest.mark.slow

SEED = """
import json
from datetime import timedelta

from django.apps import apps
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone

label = "challenge_platform"
names = ("Challenge", "Track", "Team", "TeamMembership", "AuditEvent", "RulesAcceptance")
Challenge, Track, Team, TeamMembership, AuditEvent, RulesAcceptance = (
    apps.get_model(label, n) for n in names
)
Task = apps.get_model("datasets", "Task")
Submission = apps.get_model("scoring", "Submission")
User = apps.get_model("auth", "User")
now = timezone.now()
organizer = User.objects.create_user("organizer", password="x", is_staff=True)
member = User.objects.create_user("member", password="x")
challenge = Challenge.objects.create(
    slug="old", title="Old", start=now - timedelta(days=30), end=now + timedelta(days=60)
)
phase = challenge.phases.get()
track = Track.objects.create(challenge=challenge, slug="t", title="T")
team = Team.objects.create(challenge=challenge, name="Old team")
TeamMembership.objects.create(team=team, user=member, challenge=challenge)
RulesAcceptance.objects.create(user=member, challenge=challenge, version=1)
task = Task.objects.create(track=track, slug="task", title="Task")
submission = Submission(task=task, team=team, uploaded_by=member, phase=phase, file="s.csv")
Submission.objects.bulk_create([submission])
team_type = ContentType.objects.get(app_label=label, model="team")
member.user_permissions.add(Permission.objects.get(content_type=team_type, codename="view_team"))
group = Group.objects.create(name="reviewers")
group.permissions.add(Permission.objects.get(content_type=team_type, codename="change_team"))
organizer.groups.add(group)
LogEntry.objects.create(
    user=organizer, content_type=team_type, object_id=str(team.pk), object_repr=str(team),
    action_flag=CHANGE, change_message="renamed",
)
AuditEvent.objects.create(
    actor=organizer, action="team.hide", object_type=f"{label}.Team", object_id=str(team.pk),
    object_repr=str(team),
)
print(json.dumps({"team": team.pk, "member": member.pk, "organizer": organizer.pk}))
"""

CHECK = """
import json
from django.apps import apps
from django.contrib.admin.models import LogEntry
OLD = "challenge_platform"
from django.contrib.auth.models import User
from django.contrib.contenttypes.models import ContentType
from challenges.audit import audit_events_for
from challenges.models import Team
from scoring.models import Submission

team = Team.objects.get(name="Old team")
entry = LogEntry.objects.get()
print(json.dumps({
    "member_views_teams": User.objects.get(username="member").has_perm("challenges.view_team"),
    "organizer_changes_teams": User.objects.get(username="organizer").has_perm(
        "challenges.change_team"
    ),
    "log_entry_object": [entry.content_type.app_label, entry.get_edited_object().pk == team.pk],
    "audit_events_of_team": audit_events_for(obj=team).count(),
    "members": list(team.memberships.values_list("user__username", flat=True)),
    "submission": [s.team_id == team.pk and s.task.track.challenge_id == team.challenge_id
                   for s in Submission.objects.all()],
    "old_content_types": ContentType.objects.filter(app_label=OLD).count(),
    "labels": sorted({c.label for c in apps.get_app_configs()} & {"challenges", OLD}),
}))
"""


def _old_code(root: Path) -> Path:
    found = subprocess.run(
        ["git", "-C", str(REPO), "cat-file", "-e", f"{OLD_COMMIT}^{{commit}}"], check=False
    )
    if found.returncode != 0:
        pytest.skip(f"the old label's commit {OLD_COMMIT[:8]} is not in this clone (shallow?)")
    archive = subprocess.run(
        [
            "git",
            "-C",
            str(REPO),
            "archive",
            OLD_COMMIT,
            "manage.py",
            "challenge_platform",
            "challenges",
            "common",
            "kinds",
            "jobs",
            "runtime",
            "datasets",
            "scoring",
            "leaderboard",
            "operations",
            "algorithms",
            "standings",
            "notifications",
            "site_pages",
            "discussion",
        ],
        check=True,
        capture_output=True,
    ).stdout
    code = root / "old_code"
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(code, filter="data")
    return code


def _manage(code: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=code,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def _ok(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout


class _Sqlite:
    vendor = "sqlite"

    def __init__(self, root: Path) -> None:
        self.path = root / "old_label.sqlite3"
        self.url = f"sqlite:///{self.path}"

    def query(self, sql: str) -> list[tuple]:
        with sqlite3.connect(self.path) as db:
            return db.execute(sql).fetchall()

    def columns_and_rows(self, table: str) -> tuple[list[str], list[tuple]]:
        with sqlite3.connect(self.path) as db:
            cursor = db.execute(f'SELECT * FROM "{table}"')
            return [c[0] for c in cursor.description], cursor.fetchall()

    def tables(self) -> list[str]:
        return [
            r[0]
            for r in self.query(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        ]

    def foreign_keys(self) -> set[tuple[str, str, str]]:
        return {
            (table, row[3], row[2])
            for table in self.tables()
            for row in self.query(f'PRAGMA foreign_key_list("{table}")')
        }

    def broken_references(self) -> list[tuple]:
        return self.query("PRAGMA foreign_key_check")

    def drop(self) -> None:
        self.path.unlink(missing_ok=True)


class _Postgres:
    vendor = "postgresql"

    def __init__(self, base_url: str) -> None:
        import psycopg

        self.psycopg = psycopg
        parts = urlsplit(base_url)
        worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
        self.name = f"{parts.path.lstrip('/')}_old_label_{worker}"
        self.url = urlunsplit(parts._replace(path=f"/{self.name}"))
        self.admin_url = urlunsplit(parts._replace(path="/postgres"))
        self.drop()
        with psycopg.connect(self.admin_url, autocommit=True) as db:
            db.execute(f'CREATE DATABASE "{self.name}"')

    def query(self, sql: str) -> list[tuple]:
        with self.psycopg.connect(self.url) as db:
            return db.execute(sql).fetchall()

    def columns_and_rows(self, table: str) -> tuple[list[str], list[tuple]]:
        with self.psycopg.connect(self.url) as db:
            cursor = db.execute(f'SELECT * FROM "{table}"')
            return [c.name for c in cursor.description], cursor.fetchall()

    def tables(self) -> list[str]:
        return [
            r[0]
            for r in self.query(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = 'public' AND table_type = 'BASE TABLE'"
            )
        ]

    def foreign_keys(self) -> set[tuple[str, str, str]]:
        rows = self.query(
            "SELECT c.conrelid::regclass::text, a.attname, c.confrelid::regclass::text "
            "FROM pg_constraint c JOIN pg_attribute a "
            "ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1] WHERE c.contype = 'f'"
        )
        return {(t.strip('"'), col, ref.strip('"')) for t, col, ref in rows}

    def broken_references(self) -> list[tuple]:
        return []  # PostgreSQL enforces every constraint on write; the list above is checked

    def drop(self) -> None:
        with self.psycopg.connect(self.admin_url, autocommit=True) as db:
            db.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


def _renamed(table: str) -> str:
    return f"{NEW}_{table.removeprefix(f'{OLD}_')}" if table.startswith(f"{OLD}_") else table


def _snapshot(db: _Sqlite | _Postgres) -> dict[str, list[dict[str, Any]]]:
    """Every table's rows, as dicts sorted by their repr."""
    snapshot = {}
    for table in db.tables():
        columns, rows = db.columns_and_rows(table)
        snapshot[table] = sorted((dict(zip(columns, r, strict=True)) for r in rows), key=repr)
    return snapshot


def _expected_after(before: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    """What the rename must make of ``before``: tables renamed; the label renamed where rows
    name it (content types, the audit log's object types); nothing else."""
    expected = {}
    for table, rows in before.items():
        new_rows = []
        for row in rows:
            row = dict(row)
            if table == "django_content_type" and row["app_label"] == OLD:
                row["app_label"] = NEW
            if table.endswith("_auditevent") and row["object_type"].startswith(f"{OLD}."):
                row["object_type"] = f"{NEW}.{row['object_type'].removeprefix(f'{OLD}.')}"
            new_rows.append(row)
        expected[_renamed(table)] = sorted(new_rows, key=repr)
    return expected


def _migration_rows(snapshot: dict[str, list[dict[str, Any]]]) -> set[tuple[str, str]]:
    return {(r["app"], r["name"]) for r in snapshot.pop("django_migrations")}


def _databases(root: Path) -> list[_Sqlite | _Postgres]:
    found: list[_Sqlite | _Postgres] = [_Sqlite(root)]
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith(("postgres://", "postgresql://")):
        found.append(_Postgres(url))
    return found


def test_a_database_of_the_old_label_upgrades_with_every_row_kept(tmp_path: Path) -> None:
    old_code = _old_code(tmp_path)
    for db in _databases(tmp_path):
        try:
            _upgrade_and_check(db, old_code, tmp_path)
        finally:
            db.drop()


def _upgrade_and_check(db: _Sqlite | _Postgres, old_code: Path, root: Path) -> None:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "challenge_platform.settings.test",
        "DATA_DIR": str(root / f"data_{db.vendor}"),
        "DATABASE_URL": db.url,
    }
    env.pop("PYTEST_XDIST_WORKER", None)
    _ok(_manage(old_code, env, "migrate", "--no-input", "-v", "0"))
    seeded = json.loads(_ok(_manage(old_code, env, "shell", "-c", SEED)).splitlines()[-1])
    before = _snapshot(db)
    assert {t for t in before if t.startswith(f"{OLD}_")} >= {f"{OLD}_team", f"{OLD}_auditevent"}
    assert before[f"{OLD}_team"] and before["scoring_submission"] and before["django_admin_log"]
    keys_before = db.foreign_keys()
    assert any(ref == f"{OLD}_team" for _, _, ref in keys_before)

    upgrade = _ok(_manage(REPO, env, "migrate", "--no-input"))
    assert "Renamed the app label challenge_platform to challenges" in upgrade

    after = _snapshot(db)
    expected = _expected_after(before)
    migrations_before, migrations_after = _migration_rows(expected), _migration_rows(after)
    renamed_history = {(NEW if app == OLD else app, name) for app, name in migrations_before}
    assert migrations_after == renamed_history | NEW_MIGRATIONS
    assert after == expected
    assert not [t for t in after if t.startswith(f"{OLD}_")]
    assert db.foreign_keys() == {(_renamed(t), c, _renamed(r)) for t, c, r in keys_before}
    assert db.broken_references() == []

    checked = json.loads(_ok(_manage(REPO, env, "shell", "-c", CHECK)).splitlines()[-1])
    assert checked == {
        "member_views_teams": True,
        "organizer_changes_teams": True,
        "log_entry_object": [NEW, True],
        "audit_events_of_team": 1,
        "members": ["member"],
        "submission": [True],
        "old_content_types": 0,
        "labels": [NEW],
    }, seeded

    again = _ok(_manage(REPO, env, "migrate", "--no-input"))
    assert "Renamed" not in again and "No migrations to apply" in again
    settled = _snapshot(db)
    _migration_rows(settled)
    assert settled == after
    _ok(_manage(REPO, env, "makemigrations", "--check", "--dry-run"))
    _ok(_manage(REPO, env, "migrate", "--check"))
