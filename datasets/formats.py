"""A task's Croissant description for one reader (docs/participants/formats.md): the pure builder
(:mod:`datasets.core.croissant`) fed with what this reader may see.

Only what the reader may download is described: the files (and the record sets read from
them) for a logged-in reader who may download the task's data (the current rules accepted;
organizers always), the card alone for anyone else, as the public task page shows it. The
solution is never described, not even to organizers; organizers get the split settings
(``tc:publicFraction``, ``tc:splitSeed``) an import needs to split the test rows the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.urls import reverse

from challenges.rules import rules_accepted
from challenges.selectors import is_organizer
from datasets.core import croissant
from datasets.core.about import RAI_PROPERTIES
from datasets.models import Task, TaskVersion
from datasets.versions import (
    version_file,
    version_file_digests,
    version_file_names,
)
from kinds import kind_get

# Builds an absolute URL from a path (``request.build_absolute_uri``).
Absolute = Callable[[str], str]


def task_downloadable(*, task: Task, user: AbstractBaseUser | AnonymousUser) -> bool:
    """Whether ``user`` may download ``task``'s files now (the file views' own rule)."""
    return bool(user.is_authenticated) and rules_accepted(
        challenge=task.track.challenge, user=user
    )


def croissant_url(*, task: Task, version: int | None, absolute: Absolute) -> str:
    """The address of a task's Croissant description (of one data version when given)."""
    path = reverse("api-task-croissant", kwargs={"slug": task.slug})
    return absolute(path if version is None else f"{path}?version={version}")


def task_croissant(
    *,
    task: Task,
    version: TaskVersion,
    user: AbstractBaseUser | AnonymousUser,
    absolute: Absolute,
) -> dict[str, Any]:
    """The Croissant JSON-LD of ``version`` of ``task`` as ``user`` may read it."""
    current = version.number == task.data_version
    meta = dict(version.meta or (task.meta if current else {}) or {})
    card = dict(version.card or (task.card if current else {}) or {})
    kind = kind_get(task.kind)
    downloadable = task_downloadable(task=task, user=user)
    files = _files(task, version, absolute) if downloadable else []
    columns = meta.get("columns")
    if columns is None:  # a version replaced before versions kept their task.json
        columns = _columns_of_stored_file(version)
    classes = list(meta.get("classes") or (task.classes if current else []))
    public = kind.public_meta(meta, classes)
    terms: dict[str, Any] = {
        "tc:slug": task.slug,
        "tc:dataVersion": version.number,
        "tc:primaryMetric": meta.get("primary_metric") or task.primary_metric,
        "tc:classes": classes,
        "tc:outputColumns": public.pop("output_columns"),
        "tc:optionalOutputColumns": public.pop("optional_output_columns"),
    }
    if public:
        terms["tc:kindOptions"] = public
    if is_organizer(user=user) and "public_fraction" in meta:
        terms["tc:publicFraction"] = meta["public_fraction"]
        terms["tc:splitSeed"] = meta.get("split_seed", 0)
    facts = croissant.TaskFacts(
        card=_card(task, version, meta, absolute),
        kind=task.kind,
        columns=columns,
        label_dtype=kind.label_dtype,
        files=files,
        card_columns=card.get("columns") or [],
        rows={"train": version.train_rows, "test": version.test_rows},
        terms=terms,
    )
    return croissant.task_jsonld(facts)


def _card(
    task: Task, version: TaskVersion, meta: dict[str, Any], absolute: Absolute
) -> croissant.Card:
    challenge = task.track.challenge
    first = task.versions.order_by("number").values_list("created_at", flat=True).first()
    owner = task.owner_team
    rai = {RAI_PROPERTIES[k]: v for k, v in (meta.get("rai") or {}).items() if k in RAI_PROPERTIES}
    return croissant.Card(
        name=task.title,
        description=task.description or task.title,
        url=absolute(reverse("datasets:task-detail", kwargs={"slug": task.slug})),
        version=f"{version.number}.0.0",
        date_published=version.created_at,
        date_created=first or version.created_at,
        date_modified=version.created_at,
        license=str(meta.get("license") or ""),
        citation=str(meta.get("citation") or ""),
        creators=[owner.name] if owner is not None and not owner.is_hidden else [],
        keywords=[kind_get(task.kind).label, task.track.title, challenge.title],
        catalog=(
            challenge.title,
            absolute(reverse("challenge-detail", kwargs={"slug": challenge.slug})),
        ),
        rai=rai,
    )


def _files(task: Task, version: TaskVersion, absolute: Absolute) -> list[croissant.FileRef]:
    digests = version_file_digests(version=version)
    refs = []
    for name in version_file_names(version=version):
        digest = digests.get(name)
        if digest is None:  # missing in storage: not offered
            continue
        path = reverse("api-task-file", kwargs={"slug": task.slug, "name": name})
        refs.append(
            croissant.FileRef(
                name=name,
                url=absolute(f"{path}?version={version.number}"),
                sha256=digest["sha256"],
                size=digest["size"],
            )
        )
    return refs


def _columns_of_stored_file(version: TaskVersion) -> list[dict[str, str]]:
    """The feature columns of a version kept without its task.json, read from its stored
    train.parquet's schema: ``numeric`` for numbers, no role for text (text, categorical
    and image paths cannot be told apart from the schema, and are not guessed)."""
    stored = version_file(version=version, name="train.parquet")
    if stored is None:
        return []
    try:
        with stored.storage.open(stored.name, "rb") as handle:
            schema = pq.read_schema(handle)
    except (OSError, ValueError):
        return []
    return [
        {"name": f.name, "type": "numeric" if pa.types.is_floating(f.type) else ""}
        for f in schema
        if f.name not in ("id", "label")
    ]
