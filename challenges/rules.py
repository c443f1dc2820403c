"""A challenge's rules: the one gate every participant action goes through
(docs/architecture.md §10).

``rules_gate(challenge=..., user=...)`` is called by every entry point that needs accepted
rules: the team services (create, join), the file downloads (web and API), the submission
service (web, API, command-line client) and algorithm runs. It raises
:class:`RulesNotAccepted`, which the API turns into HTTP 403
``{"code": "rules_not_accepted", "detail": ...}`` (``challenges.api.exceptions``) and
the site into a redirect to the rules page (``RulesGateMiddleware``). A challenge with empty
rules asks nothing; organizers are never asked.
"""

from __future__ import annotations

from collections.abc import Iterator

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.urls import reverse

from .models import Challenge, RulesAcceptance


class RulesNotAccepted(Exception):
    """The user has not accepted the current version of ``challenge``'s rules."""

    code = "rules_not_accepted"

    def __init__(self, *, challenge: Challenge) -> None:
        self.challenge = challenge
        super().__init__(self.detail())

    @property
    def rules_path(self) -> str:
        return reverse("challenge-rules", kwargs={"slug": self.challenge.slug})

    def as_json(self, rules_url: str | None = None) -> dict[str, object]:
        """The API's 403 body (docs/architecture.md §10): ``code``, ``detail``, and where
        to accept."""
        return {
            "code": self.code,
            "detail": self.detail(rules_url),
            "rules_url": rules_url or self.rules_path,
            "version": self.challenge.rules_version,
        }

    def detail(self, rules_url: str | None = None) -> str:
        """A sentence any client can print as it is."""
        c = self.challenge
        return (
            f"You have not accepted the rules of {c.title} (version {c.rules_version}) yet. "
            f"Read and accept them at {rules_url or self.rules_path}, then try again "
            f"(API: POST /api/v1/challenges/{c.slug}/rules/accept/ with "
            f'{{"version": {c.rules_version}}}).'
        )


class RulesError(Exception):
    """A refused acceptance (stale version, nothing to accept), with a message for the user."""

    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


# --- selectors --------------------------------------------------------------------------


def rules_required(*, challenge: Challenge) -> bool:
    """Whether the challenge has rules to accept at all."""
    return bool((challenge.rules or "").strip())


def rules_accepted(*, challenge: Challenge, user: AbstractBaseUser | AnonymousUser) -> bool:
    """Whether ``user`` may act in ``challenge`` as far as the rules go."""
    if not rules_required(challenge=challenge):
        return True
    if not user.is_authenticated:
        return False
    if user.is_staff:  # organizers write the rules; they are not asked to accept them
        return True
    return RulesAcceptance.objects.filter(
        challenge=challenge, user=user, version=challenge.rules_version
    ).exists()


def rules_acceptance_current(
    *, challenge: Challenge, user: AbstractBaseUser | AnonymousUser
) -> RulesAcceptance | None:
    """``user``'s acceptance of the current version, if any."""
    if not user.is_authenticated:
        return None
    return RulesAcceptance.objects.filter(
        challenge=challenge, user=user, version=challenge.rules_version
    ).first()


def rules_gate(*, challenge: Challenge, user: AbstractBaseUser | AnonymousUser) -> None:
    """THE gate: raise :class:`RulesNotAccepted` unless ``user`` accepted the current rules."""
    if not rules_accepted(challenge=challenge, user=user):
        raise RulesNotAccepted(challenge=challenge)


def rules_acceptances(*, challenge: Challenge) -> QuerySet[RulesAcceptance]:
    return RulesAcceptance.objects.filter(challenge=challenge).select_related("user")


CSV_HEADER = ["challenge", "username", "email", "version", "accepted_at", "current_version"]


def rules_acceptance_rows(*, challenges: QuerySet[Challenge]) -> Iterator[list[object]]:
    """Every acceptance of ``challenges`` (who, version, when), rows of ``CSV_HEADER``.

    Written out by ``common.export.rows_to_csv`` (no formula cells).
    """
    rows = (
        RulesAcceptance.objects.filter(challenge__in=challenges)
        .select_related("user", "challenge")
        .order_by("challenge__slug", "accepted_at", "pk")
    )
    for row in rows:
        yield [
            row.challenge.slug,
            row.user.get_username(),
            row.user.email,
            row.version,
            row.accepted_at,
            "yes" if row.version == row.challenge.rules_version else "no",
        ]


# --- services ---------------------------------------------------------------------------


def rules_accept(
    *, challenge: Challenge, user: AbstractBaseUser, version: int | None
) -> RulesAcceptance:
    """Record that ``user`` accepts version ``version``; it must be the current one.

    Accepting twice returns the first acceptance (its time is kept).
    """
    if not rules_required(challenge=challenge):
        raise RulesError(f"{challenge.title} has no rules to accept.", code="no_rules")
    current = challenge.rules_version
    if version != current:
        raise RulesError(
            f"You accepted version {version} of the rules, but the current version is "
            f"{current}; read the current rules and accept version {current}.",
            code="rules_version_stale",
        )
    existing = RulesAcceptance.objects.filter(
        challenge=challenge, user=user, version=current
    ).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            return RulesAcceptance.objects.create(challenge=challenge, user=user, version=current)
    except IntegrityError:  # a concurrent accept won
        return RulesAcceptance.objects.get(challenge=challenge, user=user, version=current)


def challenge_rules_update(
    *, challenge: Challenge, previous_text: str, previous_version: int
) -> None:
    """After an organizer saved ``challenge``: changed rules text needs a new version.

    When the text changed but the version was not raised by hand, it goes up by one, so
    nobody stays accepted on rules they never saw.
    """
    if (previous_text or "").strip() == (challenge.rules or "").strip():
        return
    if challenge.rules_version <= previous_version:
        challenge.rules_version = previous_version + 1
        Challenge.objects.filter(pk=challenge.pk).update(rules_version=challenge.rules_version)
