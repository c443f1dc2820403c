"""What a bundle may say about its data beyond the task: licence, citation and Responsible-AI
notes (``task.yaml`` keys ``license``, ``citation`` and ``rai``; docs/participants/formats.md).

They are optional and free text: the platform copies them, unchanged, into ``task.json``
and into the task's Croissant description (``license``, ``citeAs`` and the ``rai:``
properties of the Croissant RAI vocabulary), and leaves out whatever the bundle leaves out,
rather than guessing it.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

from common.wording import quote

NAME = "task.yaml"
ABOUT_KEYS = ("license", "citation", "rai")
LICENSE_MAX = 500
TEXT_MAX = 10_000
# task.yaml's ``rai`` keys -> the Croissant RAI vocabulary's property
# (http://mlcommons.org/croissant/RAI/, prefix ``rai:``).
RAI_PROPERTIES = {
    "data_collection": "rai:dataCollection",
    "data_collection_type": "rai:dataCollectionType",
    "data_collection_timeframe": "rai:dataCollectionTimeframe",
    "data_preprocessing_protocol": "rai:dataPreprocessingProtocol",
    "data_annotation_protocol": "rai:dataAnnotationProtocol",
    "data_biases": "rai:dataBiases",
    "data_limitations": "rai:dataLimitations",
    "data_use_cases": "rai:dataUseCases",
    "data_social_impact": "rai:dataSocialImpact",
    "personal_sensitive_information": "rai:personalSensitiveInformation",
    "data_release_maintenance_plan": "rai:dataReleaseMaintenancePlan",
}


def read_about(data: Mapping[Any, Any], problems: list[str]) -> dict[str, Any]:
    """The ``license``, ``citation`` and ``rai`` given in ``data`` (task.yaml), checked;
    only the keys given (and valid) are in the result. Each bad value is one problem."""
    about: dict[str, Any] = {}
    for key, limit in (("license", LICENSE_MAX), ("citation", TEXT_MAX)):
        text = _text(data.get(key), key, limit, problems)
        if text:
            about[key] = text
    rai = data.get("rai")
    if rai is None:
        return about
    if not isinstance(rai, dict):
        problems.append(
            f"{NAME}: rai must be a mapping of {', '.join(RAI_PROPERTIES)} to text,"
            f" not {type(rai).__name__}"
        )
        return about
    notes: dict[str, str] = {}
    for key, value in rai.items():
        if key not in RAI_PROPERTIES:
            close = difflib.get_close_matches(str(key)[:100], RAI_PROPERTIES, n=1)
            hint = f" (did you mean 'rai.{close[0]}'?)" if close else ""
            problems.append(
                f"{NAME}: unknown key {quote(f'rai.{key}')}{hint}; allowed keys: "
                + ", ".join(f"rai.{k}" for k in RAI_PROPERTIES)
            )
            continue
        text = _text(value, f"rai.{key}", TEXT_MAX, problems)
        if text:
            notes[key] = text
    if notes:
        about["rai"] = notes
    return about


def _text(value: object, key: str, limit: int, problems: list[str]) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        problems.append(f"{NAME}: {key} must be text, not {type(value).__name__}")
        return ""
    if len(value) > limit:
        problems.append(f"{NAME}: {key} is longer than {limit:,} characters")
        return ""
    return value.strip()
