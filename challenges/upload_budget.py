"""Upload budgets per team (issues 39 and 51): one rate limit on every upload path, a storage
quota.

Every way a team sends a file goes through an upload service that asks here: prediction
files (``scoring.services.upload``), algorithm archives (``algorithms.services.upload``),
new versions of a task's data (``datasets.version_uploads``), reference files
(``scoring.services.references``) and method write-up PDFs (``standings.services``), through
the web forms, the API or the command-line client (which uses the API); and the texts a
team saves (method write-ups, descriptions, discussion posts: :func:`text_save_take`, a
size cap and one count on the rate per save, issue 66). A new upload path
does the same: :func:`upload_admission` before the body is read, :func:`upload_arrival` once
it is there, and :func:`upload_quota_check` again under :func:`team_upload_lock` just before
its row is written. What a team's organizers upload as organizers (no team) is not charged.

- **Rate** (``TEAM_UPLOAD_RATE``, ``60/minute``): at most that many uploads per team in any
  window of that length, every kind together. An upload counts once its body has reached
  the service (valid or not: a flood of broken files costs the server as much); one the
  rate refuses does not, nor one refused before its body was read. The count lives in the
  cache (Redis, shared by every web process) as one key per slot of the window
  (``cache.add`` takes a free slot atomically, and a slot frees itself when its time is
  up), so it is exact whatever the number of processes. While the cache is unreachable the
  rate is not counted (logged), as the login throttle does: a rate limit is not worth
  refusing every upload for.
- **Daily limits** belong to each kind, where one applies: a task's submissions per team and
  person (``scoring``), a task's reference files and data versions per day (the task
  owners' uploads; organizers have none). Each is checked with the rate and again under the
  lock.
- **Storage** (``TEAM_STORAGE_QUOTA_MB``): the bytes stored for what a team's members
  uploaded may not pass the quota, counted on the stored bytes (a data version counts its
  standardized files, a bundle waiting for its check its own size); the upload that would
  is refused before anything is stored, naming the quota and the use. Each app says what
  it stores for a team with :func:`team_storage_register` in its ``AppConfig.ready()``
  (this layer knows none of their models). What the platform makes on a team's behalf
  (algorithm runs' outputs, re-runs the team did not ask for, a scored file's derived
  predictions) is not charged.

Refusals raise :class:`UploadBudgetExceeded`; the services turn it into their own refusal
(:func:`refused_as`), which every path shows: the API as ``{"detail", "code",
"retry_after"}`` with ``Retry-After``, the web forms as a form error with the same status.
"""

from __future__ import annotations

import functools
import logging
import math
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, IntegerField, QuerySet, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from common.rates import Rate, next_utc_midnight, parse_rate
from common.refusals import Refusal
from common.units import byte_size
from runtime.localredis import cache_unavailable_errors
from runtime.wsgi_retry import undone_on_replay

from .models import Team

logger = logging.getLogger(__name__)

RATE_LIMITED = "rate_limited"
STORAGE_QUOTA = "storage_quota"
BUDGET_CODES = frozenset({RATE_LIMITED, STORAGE_QUOTA})
# What the rate counts, as its refusal names it.
UPLOAD_KINDS = (
    "prediction files, algorithm archives, task data, reference files, write-up PDFs, "
    "saved texts"
)
TEXT_TOO_LONG = "text_too_long"
# Multipart framing and the form fields around the file: a body declaring this much more
# than the room left may still hold a file that fits.
MULTIPART_SLACK_BYTES = 64 * 1024


class UploadBudgetExceeded(Refusal):
    """An upload over the team's budget; nothing was stored. ``message`` is for the user."""


@contextmanager
def refused_as(*, refusal: Callable[..., Exception]) -> Iterator[None]:
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
        f"Too many uploads: your team sent {rate.count} in the last {rate.period} (every kind "
        f"of upload together: {UPLOAD_KINDS}), the most it may ({rate}). Nothing was "
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
    counted) when the window is full. Call it once per upload, when its body has arrived.
    Should the request be run again because the database went away before it committed
    (runtime/wsgi_retry.py), its slot is given back first: the one upload counts once."""
    rate = upload_rate()
    if rate is None:
        return
    keys = _slot_keys(team, rate)
    try:
        for _ in range(2):  # a second look when a slot freed itself during the first
            held = cache.get_many(keys)
            for key in keys:
                if key not in held and cache.add(key, time.time(), timeout=rate.seconds):
                    with undone_on_replay() as undo:
                        undo(functools.partial(_give_back, slot=key))
                    return
            held = cache.get_many(keys)
            if len(held) >= rate.count:
                break
    except cache_unavailable_errors():
        logger.warning("the upload rate is not counted: the cache is unavailable", exc_info=True)
        return
    raise _over_the_rate(rate, held)


def _give_back(*, slot: str) -> None:
    """Free a slot :func:`upload_rate_take` took (freeing a free slot does nothing)."""
    try:
        cache.delete(slot)
    except cache_unavailable_errors():
        logger.warning("an upload's rate slot was not given back: the cache is unavailable")


# --- texts ---------------------------------------------------------------------------------


def text_max_chars() -> int:
    return int(settings.TEAM_TEXT_MAX_CHARS)


def text_size_check(*, texts: Iterable[str], what: str) -> None:
    """Raise :class:`UploadBudgetExceeded` (413, ``text_too_long``) when ``texts`` (the
    fields of one save: a title and a body) hold more than ``TEAM_TEXT_MAX_CHARS``
    characters together; ``what`` names the text ("The method write-up")."""
    size = sum(len(text or "") for text in texts)
    cap = text_max_chars()
    if size > cap:
        raise UploadBudgetExceeded(
            TEXT_TOO_LONG,
            f"{what} is {size:,} characters long, more than the {cap:,} a text may have. "
            "Nothing was saved.",
            413,
        )


def text_save_take(*, team: Team | None, texts: Iterable[str], what: str) -> None:
    """One save of a text a team writes (a method write-up, a description, a discussion
    post): within the size cap (:func:`text_size_check`, checked first: a refused size
    counts nothing), then counted once against the team's upload rate like a file
    (:func:`upload_rate_take`, 429). The text is rendered once, when its row is saved
    (``challenges.markdown``), so the cap bounds that render too. A text an organizer
    writes as organizer (``team`` None) is capped, not counted."""
    text_size_check(texts=texts, what=what)
    if team is not None:
        upload_rate_take(team=team)


# --- daily limits ------------------------------------------------------------------------------


def upload_day_start(*, now: datetime | None = None) -> datetime:
    """The start of the current UTC day, from which a daily limit counts."""
    return next_utc_midnight(at=now or timezone.now()) - timedelta(days=1)


def upload_daily_check(*, used: int, limit: int, code: str, refused: str) -> None:
    """Raise :class:`UploadBudgetExceeded` (429, to be tried again at the next UTC midnight)
    when ``used`` of today's ``limit`` uploads of a kind are taken; ``refused`` says what
    was used ("The task's owners have used today's 3 ..."), the reset time is added."""
    if used < limit:
        return
    resets = next_utc_midnight(at=timezone.now())
    raise UploadBudgetExceeded(
        code,
        f"{refused}; the limit resets at {resets:%Y-%m-%d %H:%M} UTC. Nothing was stored.",
        429,
        retry_after=resets,
    )


# --- storage -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class StoredFiles:
    """Files a team stores, as database rows: each row of ``rows`` is one file, its bytes in
    the field ``size`` (:func:`team_storage_register`)."""

    rows: QuerySet
    size: str


@dataclass(frozen=True)
class _StoredKind:
    """One registration: ``rows`` or ``counter`` (:func:`team_storage_register`)."""

    rows: Callable[..., list[StoredFiles]] | None
    counter: Callable[..., tuple[int, int]] | None


# label (plural noun) -> how its files are counted, in the order registered (a refusal names
# them so; registered again, a label keeps its place)
_STORAGE: dict[str, _StoredKind] = {}


def team_storage_register(
    *,
    label: str,
    rows: Callable[..., list[StoredFiles]] | None = None,
    counter: Callable[..., tuple[int, int]] | None = None,
) -> None:
    """Say what an app stores for a team, one of: ``rows(team_pk=...)``, the team's files
    as rows (:class:`StoredFiles`; every app's rows are counted in one query, as an upload
    asks twice), or ``counter(team_pk=...)`` returning ``(files, bytes)``: what rows cannot
    say (a file's size kept only by its storage). ``label`` names those files in messages
    ("prediction files"). Registering again replaces the registration."""
    if (rows is None) == (counter is None):
        raise TypeError("team_storage_register takes rows or counter, one of them")
    _STORAGE[label] = _StoredKind(rows=rows, counter=counter)


def _counted_rows(*, team_pk: int) -> dict[str, tuple[int, int]]:
    """``(files, bytes)`` per label of every ``rows`` registration, in one query (a UNION ALL
    of one aggregate per :class:`StoredFiles`)."""
    parts: list[QuerySet] = []
    labels = [label for label, kind in _STORAGE.items() if kind.rows is not None]
    for index, label in enumerate(labels):
        for stored in _STORAGE[label].rows(team_pk=team_pk):
            parts.append(
                stored.rows.order_by()
                .annotate(_label=Value(index, output_field=IntegerField()))
                .values("_label")
                .annotate(files=Count("pk"), size=Coalesce(Sum(stored.size), 0))
                .values_list("_label", "files", "size")
            )
    counted = dict.fromkeys(labels, (0, 0))
    if not parts:
        return counted
    for index, files, size in parts[0].union(*parts[1:], all=True):
        before = counted[labels[index]]
        counted[labels[index]] = (before[0] + files, before[1] + int(size or 0))
    return counted


@dataclass(frozen=True)
class StorageUse:
    total: int
    parts: dict[str, tuple[int, int]]  # label -> (files, bytes)

    def described(self) -> str:
        """``3 prediction files and 2 algorithm archives`` (the kinds the team stores;
        ``nothing`` when it stores none)."""
        words = [
            f"{files} {label.removesuffix('s') if files == 1 else label}"
            for label, (files, _) in self.parts.items()
            if files
        ]
        if not words:
            return "nothing"
        return " and ".join([", ".join(words[:-1]), words[-1]] if len(words) > 1 else words)


def team_storage_use(*, team: Team) -> StorageUse:
    """What ``team`` stores, per label (:func:`team_storage_register`): one query for every
    ``rows`` kind together, and one per ``counter``."""
    counted = _counted_rows(team_pk=team.pk)
    parts = {
        label: kind.counter(team_pk=team.pk) if kind.counter else counted[label]
        for label, kind in _STORAGE.items()
    }
    return StorageUse(total=sum(size for _, size in parts.values()), parts=parts)


def team_storage_quota() -> int:
    """The quota in bytes; 0: none."""
    return max(settings.TEAM_STORAGE_QUOTA_MB, 0) * 1024 * 1024


def upload_quota_check(
    *, team: Team, adding_bytes: int, freeing_bytes: int = 0, use: StorageUse | None = None
) -> StorageUse | None:
    """Raise :class:`UploadBudgetExceeded` (413) when ``adding_bytes`` more would take
    ``team`` over its storage quota, ``freeing_bytes`` of what it stores being deleted with
    the upload (a write-up's PDF it replaces, a checked bundle that becomes a data version).
    Call it before storing, and again under the team's lock (:func:`team_upload_lock`)
    before the upload is recorded (two uploads at once cannot both take the last room).

    Returns the use it read (None: no quota). ``use``: the one an earlier check of the same
    request read (the admission's, before the body), so the check before storing asks the
    database nothing more; the check under the lock is always given none (it reads again)."""
    quota = team_storage_quota()
    if not quota:
        return None
    use = use if use is not None else team_storage_use(team=team)
    if use.total - freeing_bytes + adding_bytes <= quota:
        return use
    raise UploadBudgetExceeded(
        STORAGE_QUOTA,
        f"Your team's storage quota is {byte_size(quota)} and it uses {byte_size(use.total)} "
        f"({use.described()}); this upload of {byte_size(adding_bytes)} would go over it, so "
        "nothing was stored. Ask the organizers for more room.",
        413,
    )


# --- one call per step, for every upload path -------------------------------------------------


def upload_admission(*, team: Team | None, declared_bytes: int | None = None) -> None:
    """Before the body is read: raise :class:`UploadBudgetExceeded` when ``team`` has no
    upload left in its rate window (429; nothing counted) or when the body it announces
    (``Content-Length``, less :data:`MULTIPART_SLACK_BYTES`) would not fit in its storage
    quota (413). ``team`` None (an organizer's upload) is not charged."""
    if team is None:
        return
    upload_rate_check(team=team)
    if declared_bytes is not None:
        upload_quota_check(team=team, adding_bytes=max(declared_bytes - MULTIPART_SLACK_BYTES, 0))


def upload_arrival(*, team: Team | None, size: int, freeing_bytes: int = 0) -> None:
    """The upload's body arrived (``size`` bytes): count it against ``team``'s rate (429
    when the window is full; nothing counted then), then check that it fits in the storage
    quota (413). ``team`` None is not charged."""
    if team is None:
        return
    upload_rate_take(team=team)
    upload_quota_check(team=team, adding_bytes=size, freeing_bytes=freeing_bytes)


def team_upload_lock(*, team: Team | None) -> None:
    """Inside a transaction: ``team``'s uploads take turns from here until it ends (the
    quota's last room goes once). Take it after any task row lock of the same upload and
    before an algorithm's (the order every upload path keeps)."""
    if team is not None:
        Team.objects.select_for_update().filter(pk=team.pk).values_list("pk").first()
