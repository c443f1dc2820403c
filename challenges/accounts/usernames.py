"""Usernames people cannot confuse (issue 25): compared by their confusable skeleton
(``challenges.team_names.name_keys``: UTS #39, case, whitespace and punctuation
folded), never holding a character that shows as nothing, a control character or a space,
nor letters of scripts mixed beyond UTS #39's "Moderately Restrictive" level (issue 66).

:func:`validate_username` joins the username field's validators when the app is ready
(``ChallengesConfig.ready``), so every way an account is named runs it: local
sign-up (allauth uses the field's validators), the console's user forms,
``createsuperuser``. A name given by the identity provider at the first OIDC sign-in goes
through :func:`safe_username` instead, which never fails: a refused or taken name becomes
a free one derived from the e-mail address, else ``user-<random>``.

The comparison reads every username (keys are cached per process); that is fine for the
thousands of accounts of an internal platform. Two look-alike sign-ups at the same instant
are not serialized.
"""

from __future__ import annotations

import secrets

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError

from challenges.team_names import (
    control_or_separator_characters,
    invisible_characters,
    name_keys,
    scripts_mixed,
)


def username_lookalike(*, username: str) -> str | None:
    """The existing username ``username`` reads as (not itself), or None."""
    keys = name_keys(name=username)
    for existing in get_user_model().objects.values_list("username", flat=True).iterator():
        if existing != username and name_keys(name=existing) & keys:
            return existing
    return None


def username_problem(*, username: str) -> str | None:
    """Why ``username`` cannot be a new account's name (invisible characters, or an
    existing look-alike, named), or None."""
    hidden = invisible_characters(name=username)
    if hidden:
        return "Usernames may not contain characters that show as nothing: " + ", ".join(hidden)
    other = username_lookalike(username=username)
    if other is not None:
        return (
            f"“{username}” reads the same as the existing user “{other}” (usernames are "
            "compared as they look: ignoring case and look-alike letters such as a Cyrillic a "
            "or a capital I for l); choose another."
        )
    controls = control_or_separator_characters(name=username)
    if controls:
        return "Usernames may not contain control characters or spaces: " + ", ".join(controls)
    mixed = scripts_mixed(name=username)
    if mixed:
        return (
            "Usernames may not mix " + " and ".join(mixed) + " letters (one script, or Latin "
            "with one other script that is not Cyrillic or Greek)."
        )
    return None


def validate_username(value: str) -> None:
    """Django validator: refuses a new or changed username that :func:`username_problem`
    refuses. An existing account's own, unchanged username passes (its form is re-validated
    on every save, and older look-alikes are listed by ``check_lookalike_names``)."""
    if get_user_model().objects.filter(username=value).exists():
        return  # unchanged (or an exact duplicate, which the unique constraint refuses)
    problem = username_problem(username=value)
    if problem is not None:
        raise ValidationError(problem, code="username_lookalike")


def safe_username(*, candidates: list[str | None]) -> str:
    """A free username nobody can confuse with another: the first acceptable candidate (as
    allauth cleans it), else ``user-<8 hex>``. Never raises."""
    from allauth.account.adapter import get_adapter
    from allauth.utils import generate_unique_username

    for candidate in [c for c in candidates if c]:
        try:
            get_adapter().clean_username(candidate)  # the field's validators + taken check
            return candidate
        except ValidationError:
            continue
    try:
        derived = generate_unique_username([c for c in candidates if c] + ["user"])
        if not get_user_model().objects.filter(username=derived).exists() and not (
            username_problem(username=derived)
        ):
            return derived
    except (NotImplementedError, ValidationError):
        pass
    while True:
        fallback = f"user-{secrets.token_hex(4)}"
        if not get_user_model().objects.filter(username=fallback).exists() and not (
            username_problem(username=fallback)
        ):
            return fallback


def install_username_validator() -> None:
    """Add :func:`validate_username` to the user model's username field, once."""
    field = get_user_model()._meta.get_field("username")
    if validate_username not in field.validators:
        field.validators.append(validate_username)
