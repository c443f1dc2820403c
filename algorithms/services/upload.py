"""An uploaded ``.zip`` becomes a new version of one of the team's algorithms."""

from __future__ import annotations

import hashlib
import logging
import uuid

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.db.models import Max

from algorithms.core import ArchiveInvalid, validate_archive
from algorithms.models import Algorithm, AlgorithmVersion, archive_path_for
from algorithms.services.common import AlgorithmRefused, archive_limits
from challenges.models import Challenge, Team
from challenges.rules import rules_gate
from challenges.selectors import team_for_user
from challenges.upload_budget import (
    refused_as,
    upload_quota_check,
    upload_rate_check,
    upload_rate_take,
)
from common.files import delete_file_quietly

# Multipart framing and the name field around the archive: a body this much over the cap
# may still hold an archive within it.
MULTIPART_SLACK_BYTES = 64 * 1024

logger = logging.getLogger(__name__)


def algorithm_upload_admission(
    *,
    challenge: Challenge,
    user: AbstractBaseUser | AnonymousUser,
    declared_bytes: int | None = None,
) -> Team:
    """The refusals that need no byte of the archive: not logged in, rules not accepted, no
    team (or a hidden one), a declared body over the size cap, the team's upload rate used,
    a declared body over its storage quota. The API calls it before the body is read;
    :func:`algorithm_version_create` calls it again. Returns the uploading team."""
    if not user.is_authenticated:
        raise AlgorithmRefused("not_authenticated", "Log in to upload an algorithm.", 401)
    rules_gate(challenge=challenge, user=user)  # RulesNotAccepted: 403 / the rules page
    team = uploading_team(user=user, challenge=challenge)
    limit = archive_limits().max_archive_bytes
    if declared_bytes is not None and declared_bytes > limit + MULTIPART_SLACK_BYTES:
        raise AlgorithmRefused(
            "too_large", f"The upload is over the limit of {limit:,} bytes.", 413
        )
    with refused_as(refusal=AlgorithmRefused):
        upload_rate_check(team=team)
        if declared_bytes is not None:
            upload_quota_check(
                team=team, adding_bytes=max(declared_bytes - MULTIPART_SLACK_BYTES, 0)
            )
    return team


def algorithm_version_create(
    *,
    challenge: Challenge,
    user: AbstractBaseUser | AnonymousUser,
    file: UploadedFile,
    name: str = "",
) -> AlgorithmVersion:
    """Validate ``file`` (every problem listed at once), store it privately and record it as
    the next version of the team's algorithm called ``name`` (default: algorithm.yaml's).

    Raises :class:`AlgorithmRefused` (nothing stored) when the user has no team here, the
    team used its upload rate or storage quota (``challenges.upload_budget``), or
    the archive is refused; ``message`` then lists every problem found. The upload counts
    against the team's rate from here on (its body arrived).
    """
    team = algorithm_upload_admission(challenge=challenge, user=user)
    with refused_as(refusal=AlgorithmRefused):
        upload_rate_take(team=team)
    limits = archive_limits()
    if (file.size or 0) > limits.max_archive_bytes:
        raise AlgorithmRefused(
            "too_large",
            f"The archive is {file.size:,} bytes; the limit is {limits.max_archive_bytes:,}.",
            413,
        )
    with refused_as(refusal=AlgorithmRefused):
        upload_quota_check(team=team, adding_bytes=file.size or 0)
    file.seek(0)
    try:
        checked = validate_archive(file, limits=limits, label=(file.name or "the archive")[-100:])
    except ArchiveInvalid as exc:
        raise AlgorithmRefused("invalid_archive", str(exc)) from None
    name = (name or checked.name).strip()[:100]
    if not name:
        raise AlgorithmRefused("invalid_archive", "The algorithm needs a name.")
    file.seek(0)
    digest = hashlib.sha256()
    while chunk := file.read(1024 * 1024):
        digest.update(chunk)
    file.seek(0)

    version = AlgorithmVersion(
        archive_sha256=digest.hexdigest(),
        archive_size=file.size or 0,
        description=checked.description,
        entrypoint=checked.entrypoint,
        created_by=user,
    )
    field = version.archive.field
    stored = field.storage.save(archive_path_for(team, f"{uuid.uuid4().hex}.zip"), file)
    try:
        with transaction.atomic():
            # The team's uploads take turns here (the storage quota's last room goes once),
            # the team's lock first, as the submission upload takes it.
            Team.objects.select_for_update().filter(pk=team.pk).values_list("pk").first()
            with refused_as(refusal=AlgorithmRefused):
                upload_quota_check(team=team, adding_bytes=version.archive_size)
            # The algorithm and its version appear together (never an algorithm without
            # one); uploads to one algorithm take turns, so numbers never collide.
            algorithm = algorithm_get_or_create(challenge=challenge, team=team, name=name)
            Algorithm.objects.select_for_update().filter(pk=algorithm.pk).values_list("pk").get()
            latest = algorithm.versions.aggregate(n=Max("number"))["n"] or 0
            version.algorithm = algorithm
            version.number = latest + 1
            version.archive.name = stored
            version.save()
    except BaseException:
        delete_file_quietly(field.storage, stored)
        raise
    logger.info("algorithm %s (%s) version %s uploaded", algorithm.pk, name, version.number)
    return version


def uploading_team(*, user: AbstractBaseUser, challenge: Challenge) -> Team:
    """The caller's team, which an algorithm of this challenge belongs to (upload, and the
    admission check before one)."""
    team = team_for_user(user=user, challenge=challenge)
    if team is None:
        raise AlgorithmRefused(
            "no_team",
            "You are not in a team of this challenge; create or join a team before uploading "
            "an algorithm.",
            403,
        )
    if team.is_hidden:
        raise AlgorithmRefused("team_hidden", team.hidden_refusal("cannot upload algorithms"), 403)
    return team


def algorithm_get_or_create(*, challenge: Challenge, team: Team, name: str) -> Algorithm:
    algorithm = Algorithm.objects.filter(team=team, name=name).first()
    if algorithm is not None:
        return algorithm
    try:
        with transaction.atomic():  # a savepoint: a concurrent twin leaves us the row
            return Algorithm.objects.create(challenge=challenge, team=team, name=name)
    except IntegrityError:
        return Algorithm.objects.get(team=team, name=name)
