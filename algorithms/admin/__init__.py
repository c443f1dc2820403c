"""Organizer console of the algorithms app: algorithms, versions, every run, and the
baseline's console (its queue page, live log, artifacts and actions)."""

from algorithms.admin import baselines, runs

__all__ = ["baselines", "runs"]
