"""Parts of the task owner's page that a higher layer contributes.

The page (:func:`scoring.owner_views.task_manage`) belongs to scoring; its AutoGluon
baseline part belongs to ``algorithms``, above scoring in the layers. So, as with the hooks
of ``challenges.hooks``, the higher app registers its section here in its
``AppConfig.ready()``: the page renders every registered section and hands a POST to the
section it names. Nothing here names a higher app.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest

from datasets.models import Task


@dataclass(frozen=True)
class OwnerSection:
    """One part of the task owner's page."""

    key: str  # the form's ``section`` value, and the section's anchor on the page
    template: str  # rendered with ``task``, ``section`` and ``part`` (what ``context`` returns)
    context: Callable[[Task], dict[str, Any]]
    post: Callable[[HttpRequest, Task], None]  # handles the section's form (adds messages)


_sections: dict[str, OwnerSection] = {}


def owner_section_register(*, section: OwnerSection) -> OwnerSection:
    """Add ``section`` to the page (idempotent: the same key replaces itself)."""
    _sections[section.key] = section
    return section


def owner_sections() -> list[OwnerSection]:
    """The registered sections, in the order they were registered."""
    return list(_sections.values())


def owner_section(*, key: str) -> OwnerSection | None:
    return _sections.get(key)
