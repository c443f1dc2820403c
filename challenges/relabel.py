"""The challenges app's label, renamed once in an older database.

Until round 6 the app's label was ``challenge_platform`` (the package its models were made
in). A database made then has that name in four places: the ``django_migrations`` rows, the
tables (``challenge_platform_team``, ``challenge_platform_team_members``, ...), the content
types (which permissions, admin log entries and generic relations point at by id) and the
audit log's ``object_type`` (``challenge_platform.Team``). :func:`relabel_database` renames
them all to ``challenges`` in one transaction, before Django's migration loader reads the
history: the ``migrate`` command calls it first (``management/commands/migrate.py``), so
every way an operator upgrades (``make run``, ``entrypoint.sh migrate``, the web process's
start) runs it. It is idempotent: a database with no ``challenge_platform`` row is left as
it is (a fresh one, or one already renamed). docs/decisions/0077-the-challenges-app-label.md.
"""

from __future__ import annotations

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.backends.utils import truncate_name
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder
from django.db.models import Model, Value
from django.db.models.functions import Concat, Substr

OLD_LABEL = "challenge_platform"
NEW_LABEL = "challenges"


class RelabelRefused(Exception):
    """The database holds both labels, or misses a table its history says it has: nothing was
    changed, and an operator must look."""


def relabel_database(*, using: str = DEFAULT_DB_ALIAS) -> list[str]:
    """Rename the old label in database ``using``; the list of what was renamed (empty when
    there was nothing to do). All or nothing: on :class:`RelabelRefused` nothing changed."""
    connection = connections[using]
    recorder = MigrationRecorder(connection)
    if not recorder.has_table() or not recorder.migration_qs.filter(app=OLD_LABEL).exists():
        return []
    done: list[str] = []
    with connection.schema_editor(atomic=True) as editor:
        if connection.vendor == "postgresql":  # two processes migrating at once: one renames
            editor.execute(f"LOCK TABLE {editor.quote_name(recorder.Migration._meta.db_table)}")
        old_rows = recorder.migration_qs.filter(app=OLD_LABEL)
        if not old_rows.exists():
            return []  # another process renamed it while this one waited
        if recorder.migration_qs.filter(app=NEW_LABEL).exists():
            raise RelabelRefused(
                f"django_migrations holds rows of both {OLD_LABEL!r} and {NEW_LABEL!r}"
            )
        done.append(f"django_migrations: {old_rows.update(app=NEW_LABEL)} rows")
        loader = MigrationLoader(connection, ignore_no_migrations=True)
        applied = [key for key in loader.applied_migrations if key in loader.graph.nodes]
        state = loader.project_state(applied, at_end=True)
        models = state.apps.get_app_config(NEW_LABEL).get_models(include_auto_created=True)
        done += _rename_tables(editor, models)
        done += _rename_content_types(editor)
        if (NEW_LABEL, "auditevent") in state.models:
            done += _rename_audit_object_types(state.apps.get_model(NEW_LABEL, "AuditEvent"))
    return done


def _old_table(model: type[Model], max_length: int) -> str:
    """The table Django named ``model`` when its label was the old one."""
    parent = model._meta.auto_created  # an M2M field's table: <parent's table>_<field>
    if parent:
        field = next(f for f in parent._meta.local_many_to_many if f.remote_field.through is model)
        return truncate_name(f"{_old_table(parent, max_length)}_{field.name}", max_length)
    return truncate_name(f"{OLD_LABEL}_{model._meta.model_name}", max_length)


def _rename_tables(editor: BaseDatabaseSchemaEditor, models: list[type[Model]]) -> list[str]:
    connection = editor.connection
    with connection.cursor() as cursor:
        existing = set(connection.introspection.table_names(cursor))
    max_length = connection.ops.max_name_length()
    renamed = []
    for model in models:
        if not model._meta.managed or model._meta.proxy:
            continue
        new, old = model._meta.db_table, _old_table(model, max_length)
        if new == old or not new.startswith(f"{NEW_LABEL}_"):
            continue  # a table of its own name (db_table): not the label's
        if old not in existing or new in existing:
            raise RelabelRefused(
                f"expected table {old!r} and no {new!r}; found "
                f"{old!r}: {old in existing}, {new!r}: {new in existing}"
            )
        editor.alter_db_table(model, old, new)
        renamed.append(f"table {old} -> {new}")
    return renamed


def _rename_content_types(editor: BaseDatabaseSchemaEditor) -> list[str]:
    """Rows renamed in place (never copied), so permissions, admin log entries and generic
    relations, which hold the content type's id, stay attached."""
    connection = editor.connection
    with connection.cursor() as cursor:
        if "django_content_type" not in connection.introspection.table_names(cursor):
            return []
        cursor.execute("SELECT COUNT(*) FROM django_content_type WHERE app_label = %s", [NEW_LABEL])
        if cursor.fetchone()[0]:
            raise RelabelRefused("django_content_type holds rows of both labels")
        cursor.execute(
            "UPDATE django_content_type SET app_label = %s WHERE app_label = %s",
            [NEW_LABEL, OLD_LABEL],
        )
        return [f"django_content_type: {cursor.rowcount} rows"]


def _rename_audit_object_types(audit_event: type[Model]) -> list[str]:
    """The audit log names its objects by model label (``challenges/audit.py``)."""
    count = audit_event.objects.filter(object_type__startswith=f"{OLD_LABEL}.").update(
        object_type=Concat(Value(f"{NEW_LABEL}."), Substr("object_type", len(OLD_LABEL) + 2))
    )
    return [f"audit object types: {count} rows"]
