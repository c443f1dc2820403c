"""Upload budgets per team (issue 39): one rate limit on every upload path, a storage quota.

Every way a team sends a file, a prediction file or an algorithm archive, through the web
form, the API or the command-line client (which uses the API), goes through the upload
services (``scoring.services.upload``, ``algorithms.services.upload``), and they ask here:

- **Rate** (``TEAM_UPLOAD_RATE``, ``60/minute``): at most that many uploads per team in any
  window of that length, both kinds together. An upload counts once its body has reached
  the service (valid or not: a flood of broken files costs the server as much); one the
  rate refuses does not, nor one refused before its body was read. The count lives in the
  cache (Redis, shared by every web process) as one key per slot of the window
  (``cache.add`` takes a free slot atomically, and a slot frees itself when its time is
  up), so it is exact whatever the number of processes. While the cache is unreachable the
  rate is not counted (logged), as the login throttle does: a rate limit is not worth
  refusing every upload for.
- **Storage** (``TEAM_STORAGE_QUOTA_MB``): the bytes a team's members uploaded (their
  prediction files and algorithm archives) may not pass the quota; the upload that would
  is refused before anything is stored, naming the quota and the use. Each app says what
  it stores for a team with :func:`team_storage_register` in its ``AppConfig.ready()``
  (this layer knows neither model). What the platform makes on a team's behalf (algorithm
  runs' outputs, re-runs the team did not ask for) is not charged.

Refusals raise :class:`UploadBudgetExceeded`; the services turn it into their own refusal
(:func:`refused_as`), which every path shows: the API as ``{"detail", "code",
"retry_after"}`` with ``Retry-After``, the web forms as a form error with the same status.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from challenge_platform.localredis import cache_unavailable_errors
from common.rates import Rate, parse_rate
from common.refusals import Refusal
from common.units import byte_size

from .models import Team

logger = logging.getLogger(__name__)

RATE_LIMITED = "rate_limited"
STORAGE_QUOTA = "storage_quota"
BUDGET_CODES = frozenset({RATE_LIMITED, STORAGE_QUOTA})


class UploadBudgetExceeded(Refusal):
    """An upload over the team's budget; nothing was stored. ``message`` is for the user."""


@contextmanager
def refused_as(refusal: Callable[..., Exception]) -> Iterator[None]:
    """Re-raise an :class:`UploadBudgetExceeded` as the caller's own refusal, built as
    ``refusal(code, message, http_status, retry_after=...)``."""
    try:
        yield
    except UploadBudgetExceeded as exc:
        raise refusal(exc.code, exc.message, exc.http_status, retry_after=exc.retry_after) from None


# --- the rate ----------------------------------------------------------------------------------


def upload_rate() -> Rate | None:
    return parse_rate(settings.TEAM_UPLOAD_RATE)


def _slot_keys(team: Team, rate: Rate) -> list[str]:
    return [f"upload-rate:team:{team.pk}:{rate.seconds}:{slot}" for slot in range(rate.count)]


def _over_the_rate(rate: Rate, held: dict[str, float]) -> UploadBudgetExceeded:
    now = time.time()
    frees_in = max(min(held.values(), default=now) + rate.seconds - now, 1)
    seconds = math.ceil(frees_in)
    return UploadBudgetExceeded(
        RATE_LIMITED,
        f"Too many uploads: your team sent {rate.count} in the last {rate.period} (prediction "
        f"files and algorithm archives together), the most it may ({rate}). Nothing was "
        f"stored; try again in {seconds} second{'s' if seconds != 1 else ''}.",
        429,
        retry_after=timezone.now() + timedelta(seconds=seconds),
    )


def upload_rate_check(*, team: Team) -> None:
    """Raise :class:`UploadBudgetExceeded` (429) when ``team`` has no upload left in the
    window; counts nothing (the refusals made before the body is read)."""
    rate = upload_rate()
    if rate is None:
        return
    try:
        held = cache.get_many(_slot_keys(team, rate))
    except cache_unavailable_errors():
        logger.warning("the upload rate is not checked: the cache is unavailable", exc_info=True)
        return
    if len(held) >= rate.count:
        raise _over_the_rate(rate, held)


def upload_rate_take(*, team: Team) -> None:
    """Count one upload of ``team``, or raise :class:`UploadBudgetExceeded` (429, nothing
    counted) when the window is full. Call it once per upload, when its body has arrived."""
    rate = upload_rate()
    if rate is None:
        return
    keys = _slot_keys(team, rate)
    try:
        for _ in range(2):  # a second look when a slot freed itself during the first
            held = cache.get_many(keys)
            for key in keys:
                if key not in held and cache.add(key, time.time(), timeout=rate.seconds):
                    return
            held = cache.get_many(keys)
            if len(held) >= rate.count:
                break
    except cache_unavailable_errors():
        logger.warning("the upload rate is not counted: the cache is unavailable", exc_info=True)
        return
    raise _over_the_rate(rate, held)


# --- storage -----------------------------------------------------------------------------------

# label (plural noun) -> counter(team_pk=...) -> (files, bytes)
_STORAGE_COUNTERS: dict[str, Callable[..., tuple[int, int]]] = {}


def team_storage_register(label: str, counter: Callable[..., tuple[int, int]]) -> None:
    """Say what an app stores for a team: ``counter(team_pk=...)`` returns ``(files,
    bytes)``; ``label`` names those files in messages ("prediction files"). Registering
    twice is harmless."""
    _STORAGE_COUNTERS[label] = counter


@dataclass(frozen=True)
class StorageUse:
    total: int
    parts: dict[str, tuple[int, int]]  # label -> (files, bytes)

    def described(self) -> str:
        """``3 prediction files and 2 algorithm archives``."""
        words = [
            f"{files} {label.removesuffix('s') if files == 1 else label}"
            for label, (files, _) in self.parts.items()
        ]
        return " and ".join([", ".join(words[:-1]), words[-1]] if len(words) > 1 else words)


def team_storage_use(*, team: Team) -> StorageUse:
    parts = {label: counter(team_pk=team.pk) for label, counter in _STORAGE_COUNTERS.items()}
    return StorageUse(total=sum(size for _, size in parts.values()), parts=parts)


def team_storage_quota() -> int:
    """The quota in bytes; 0: none."""
    return max(settings.TEAM_STORAGE_QUOTA_MB, 0) * 1024 * 1024


def upload_quota_check(*, team: Team, adding_bytes: int) -> None:
    """Raise :class:`UploadBudgetExceeded` (413) when ``adding_bytes`` more would take
    ``team`` over its storage quota. Call it before storing, and again under the team's lock
    before the upload is recorded (two uploads at once cannot both take the last room)."""
    quota = team_storage_quota()
    if not quota:
        return
    use = team_storage_use(team=team)
    if use.total + adding_bytes <= quota:
        return
    raise UploadBudgetExceeded(
        STORAGE_QUOTA,
        f"Your team's storage quota is {byte_size(quota)} and it uses {byte_size(use.total)} "
        f"({use.described()}); this upload of {byte_size(adding_bytes)} would go over it, so "
        "nothing was stored. Ask the organizers for more room.",
        413,
    )
