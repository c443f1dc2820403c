"""Every registered task kind is complete: found by name, its metrics directed and unique,
its templates present, and nothing outside ``kinds/`` branches on a kind's name."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from django.template.loader import get_template

from kinds import UnknownKind, kind_get, kind_names, metric_info
from kinds.metrics import METRICS

ROOT = Path(__file__).resolve().parents[2]
PARTS = ("card_stats", "card", "insight", "submit_hint")


def test_kinds_are_found_by_name_and_an_unknown_one_is_refused():
    assert kind_names()[:3] == ("classification", "matching", "grouping")
    for name in kind_names():
        assert kind_get(name).name == name
    with pytest.raises(UnknownKind, match="unknown kind 'ranking'"):
        kind_get("ranking")
    with pytest.raises(ValueError):
        kind_get(None)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", kind_names())
def test_a_kind_states_each_metric_once_with_its_direction(name):
    kind = kind_get(name)
    names = [m.name for m in kind.metrics]
    assert len(names) == len(set(names))
    assert kind.primary in kind.selectable
    assert set(kind.selectable) <= set(names)
    for metric in kind.metrics:
        assert METRICS[metric.name] == metric  # the one registry agrees with the kind
        assert metric_info(metric.name).direction in ("higher", "lower")
    assert set(kind.metric_names(scores_given=True, opis_groups=True)) <= {*names, "opis"}
    assert set(kind.track_metrics) <= set(names)


@pytest.mark.parametrize("name", kind_names())
@pytest.mark.parametrize("part", PARTS)
def test_every_kind_has_its_page_parts(name, part):
    assert get_template(kind_get(name).template(part))


@pytest.mark.parametrize("name", kind_names())
def test_a_kind_tells_a_participant_its_output_columns_and_options(name):
    kind = kind_get(name)
    options = {key: 0.5 for key in kind.options}
    meta = kind.public_meta({**options, "split_seed": 7, "opis": {}}, ["a", "b"])
    assert meta["output_columns"] == ["id", kind.prediction_column]
    assert set(meta) == {"output_columns", "optional_output_columns", *kind.options}
    assert not set(meta["optional_output_columns"]) & set(meta["output_columns"])
    assert kind.public_options(options) == options  # only the kind's own keys


def test_no_product_module_outside_the_kinds_branches_on_a_kind_s_name():
    """The cores ask the kind; the baseline algorithm (an archive run in the sandbox, which
    may import no platform code) asks its own module per kind (its ``kinds/``). The demo's
    example teams' algorithms (``operations/demo_algorithms/``) are written as participants
    write theirs (one is the manual's example, shown as printed): archives run only in the
    sandbox, not product modules."""
    names = "|".join(kind_names())
    branch = re.compile(rf"""kind\s*(==|!=|in)\s*\(?\s*["']({names})["']""")
    outside = ("tests/", "kinds/", "bench/", "docs/", "operations/demo_algorithms/")
    files = subprocess.run(
        ["git", "ls-files", "*.py", "*.html"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    offenders = []
    for relative in files:
        if relative.startswith(outside) or not (ROOT / relative).is_file():
            continue
        text = (ROOT / relative).read_text(encoding="utf-8")
        offenders += [f"{relative}:{m.group(0)}" for m in branch.finditer(text)]
    assert offenders == []
    assert branch.search('if task.kind == "matching":')  # the pattern does find a branch
