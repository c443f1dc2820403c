"""The challenges app keeps the database the challenge_platform package made.

Its models moved from ``challenge_platform/`` (now the project's configuration only) to
``challenges/`` with their migrations; the app config keeps the label they were made under,
so table names, the migration history (``django_migrations`` rows) and content types are
the same, and a database migrated by the old code opens with the new one unchanged
(docs/architecture.md §2).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.loader import MigrationLoader

REPO = Path(__file__).resolve().parents[2]
LABEL = "challenge_platform"
# The history a database migrated before the move has for the label (django_migrations rows):
# the new code must know exactly these, and may only add to them.
RECORDED = [
    "0001_initial",
    "0002_challenge_rules_and_acceptances",
    "0003_track_prize_and_writeup_requirement",
    "0004_audit_event",
    "0005_team_name_key",
    "0006_flip_examples_and_prize_nfr_limit",
    "0007_api_tokens_hashed",
    "0008_team_name_skeleton_keys",
    "0009_job_claim",
    "0010_challenge_cowinners_confidence",
    "0011_team_name_keys_without_marks",
    "0012_revoked_api_tokens",
    "0013_job_claim_moves_to_jobs",
    "0014_challenge_equivalence_margin",
    "0015_challenge_gate_nfr_epsilon",
    "0016_challenge_gate_verdict_settings",
    "0017_markdown_rendered_on_save",
    "0018_team_name_glyph_keys",
    "0019_team_name_glyph_key_unique",
]


def test_the_challenges_app_keeps_its_label_and_tables() -> None:
    config = apps.get_app_config(LABEL)
    assert config.name == "challenges"
    models = list(config.get_models())
    assert {m.__name__ for m in models} >= {"Challenge", "Track", "Team", "TeamMembership"}
    for model in models:
        assert model._meta.db_table == f"{LABEL}_{model.__name__.lower()}"


def test_the_configuration_package_holds_no_models_or_migrations() -> None:
    package = REPO / "challenge_platform"
    assert not (package / "models.py").exists()
    assert not (package / "migrations").exists()
    assert "challenge_platform" not in {c.name for c in apps.get_app_configs()}


def test_the_migration_history_is_the_one_an_old_database_recorded() -> None:
    loader = MigrationLoader(None, ignore_no_migrations=True)
    names = sorted(name for label, name in loader.graph.nodes if label == LABEL)
    assert names[: len(RECORDED)] == RECORDED
    assert loader.migrated_apps >= {LABEL}
    # Other apps' migrations depend on the label's, by label.
    dependents = {
        key
        for key, node in loader.graph.node_map.items()
        if key[0] != LABEL and any(parent.key[0] == LABEL for parent in node.parents)
    }
    assert dependents, "no app depends on challenge_platform's migrations: the graph changed"


@pytest.mark.django_db
def test_a_migrated_database_has_nothing_left_to_apply_and_keeps_its_content_types() -> None:
    executor = MigrationExecutor(connection)
    assert executor.migration_plan(executor.loader.graph.leaf_nodes()) == []
    recorded = executor.recorder.applied_migrations()
    assert {(LABEL, name) for name in RECORDED} <= set(recorded)
    team = ContentType.objects.get_for_model(apps.get_model(LABEL, "Team"))
    assert (team.app_label, team.model) == (LABEL, "team")
