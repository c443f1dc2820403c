"""A task's title is distinct within its track: a track's board names its columns by the
tasks' titles (docs/organizers/import-a-task.md). One rule for every import path: a bundle's
``task.yaml`` and a Croissant dataset's name."""

from __future__ import annotations

from collections.abc import Mapping

from datasets.core.spec import TITLE_MAX

__all__ = ["TitleTaken", "distinct_title"]


class TitleTaken(ValueError):
    """A title the organizer chose is another task's in the track (one line, in words)."""


def distinct_title(
    name: str,
    *,
    slug: str,
    given: bool = False,
    track_titles: Mapping[str, str] | None = None,
    source: str = "the title",
    hint: str = "",
) -> tuple[str, tuple[str, ...]]:
    """The title to store, and what to tell the organizer of it. ``track_titles`` maps each
    title already in the destination track to its task's slug (compared without case and
    extra spaces). A ``name`` another task of the track has becomes ``"<name> (<slug>)"``,
    with a warning naming ``source`` (and ``hint``: how to choose another); one the organizer
    ``given`` explicitly raises :class:`TitleTaken` instead."""
    taken = {_title_key(t): s for t, s in (track_titles or {}).items()}
    owner = taken.get(_title_key(name))
    if owner is None:
        return name, ()
    if given:
        raise TitleTaken(
            f"the title {name!r} is already task '{owner}''s in this track (a track's board "
            f"names its columns by title){': ' + hint if hint else ''}"
        )
    suffix = f" ({slug})"
    distinct = name[: TITLE_MAX - len(suffix)].rstrip() + suffix
    if _title_key(distinct) in taken:
        raise TitleTaken(
            f"the titles {name!r} and {distinct!r} are taken in this track"
            f"{': ' + hint if hint else ''}"
        )
    return distinct, (
        f"{source} {name!r} is already task '{owner}''s title in this track: imported as "
        f"{distinct!r}{' (' + hint + ')' if hint else ''}",
    )


def _title_key(title: str) -> str:
    return " ".join(title.split()).casefold()
