"""The challenges app has one name: its label is ``challenges``, the name of its package; the
project's configuration package ``challenge_platform`` holds no models.

A fresh install makes the tables, the migration history and the content types under the new
label directly, and the rename of an older database finds nothing to do there
(docs/decisions/0077-the-challenges-app-label.md; the upgrade of an older database is
tests/challenges_tests/test_label_upgrade.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.core.management import get_commands
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.loader import MigrationLoader

from challenges.relabel import OLD_LABEL, relabel_database

REPO = Path(__file__).resolve().parents[2]
LABEL = "challenges"


def test_the_challenges_app_has_the_label_of_its_package_and_tables() -> None:
    config = apps.get_app_config(LABEL)
    assert config.name == "challenges"
    models = list(config.get_models(include_auto_created=True))
    assert {m.__name__ for m in models} >= {"Challenge", "Track", "Team", "TeamMembership"}
    for model in models:
        assert model._meta.db_table.startswith(f"{LABEL}_")
    assert OLD_LABEL not in {c.label for c in apps.get_app_configs()}


def test_the_configuration_package_holds_no_models_or_migrations() -> None:
    package = REPO / "challenge_platform"
    assert not (package / "models.py").exists()
    assert not (package / "migrations").exists()
    assert "challenge_platform" not in {c.name for c in apps.get_app_configs()}


def test_no_migration_names_the_old_label() -> None:
    loader = MigrationLoader(None, ignore_no_migrations=True)
    assert not [key for key in loader.graph.nodes if key[0] == OLD_LABEL]
    for key, node in loader.graph.node_map.items():
        assert not [p.key for p in node.parents if p.key[0] == OLD_LABEL], key
    # Other apps' migrations depend on the label's, by label.
    assert any(
        parent.key[0] == LABEL
        for key, node in loader.graph.node_map.items()
        if key[0] != LABEL
        for parent in node.parents
    )


def test_migrate_is_the_challenges_apps_own() -> None:
    """Every upgrade path runs ``manage.py migrate``: it must be the one that renames."""
    assert get_commands()["migrate"] == LABEL


@pytest.mark.django_db
def test_a_fresh_install_has_the_new_label_everywhere_and_nothing_to_rename() -> None:
    executor = MigrationExecutor(connection)
    assert executor.migration_plan(executor.loader.graph.leaf_nodes()) == []
    recorded = {app for app, _ in executor.recorder.applied_migrations()}
    assert LABEL in recorded and OLD_LABEL not in recorded
    team = ContentType.objects.get_for_model(apps.get_model(LABEL, "Team"))
    assert (team.app_label, team.model) == (LABEL, "team")
    assert not ContentType.objects.filter(app_label=OLD_LABEL).exists()
    tables = set(connection.introspection.table_names())
    assert not {t for t in tables if t.startswith(f"{OLD_LABEL}_")}
    assert relabel_database(using=connection.alias) == []
