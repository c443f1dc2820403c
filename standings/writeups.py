"""A team's method write-up (docs/organizers/run-a-challenges-end.md): its
text, the submissions it describes and an optional PDF, saved by a member within the
team's upload budget (``challenges.upload_budget``: the rate, the text cap, the storage
quota), and the PDF's share of that quota.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction

from challenges.models import Team, TeamMembership
from challenges.upload_budget import (
    refused_as,
    team_upload_lock,
    text_save_take,
    upload_quota_check,
)
from common.units import byte_size
from scoring.models import Submission, SubmissionStatus

from .models import MethodWriteup
from .services import StandingsError

logger = logging.getLogger(__name__)

PDF_MAX_BYTES = 10 * 1024 * 1024
PDF_MAGIC = b"%PDF-"


def _budget_refused(
    code: str, message: str, http_status: int, retry_after: datetime | None = None
) -> StandingsError:
    """The upload budget's refusal as this app's (``upload_budget.refused_as``)."""
    return StandingsError(message, code=code, http_status=http_status, retry_after=retry_after)


def _pdf_fits(team: Team, pdf: UploadedFile) -> None:
    """413 when ``pdf`` would take ``team`` over its storage quota (the PDF it replaces is
    deleted with the save)."""
    current = MethodWriteup.objects.filter(team=team).first()
    with refused_as(refusal=_budget_refused):
        upload_quota_check(
            team=team,
            adding_bytes=pdf.size or 0,
            freeing_bytes=_pdf_size(current) if current is not None else 0,
        )


def _check_pdf(pdf: UploadedFile) -> None:
    size = pdf.size or 0
    if size > PDF_MAX_BYTES:
        raise StandingsError(
            f"The PDF is {byte_size(size)}; the limit is {byte_size(PDF_MAX_BYTES)}.",
            code="too_large",
            http_status=413,
        )
    pdf.seek(0)
    head = pdf.read(1024)
    pdf.seek(0)
    if not head.startswith(PDF_MAGIC):
        raise StandingsError(
            "The attached file is not a PDF (it does not start with %PDF-).", code="not_pdf"
        )


def _pdf_size(writeup: MethodWriteup) -> int:
    """The stored size of ``writeup``'s PDF (0 without one, or when it cannot be read)."""
    if not writeup.pdf:
        return 0
    try:
        return int(writeup.pdf.storage.size(writeup.pdf.name))
    except (OSError, NotImplementedError):
        logger.warning("the size of %s cannot be read", writeup.pdf.name, exc_info=True)
        return 0


def team_writeup_pdfs(*, team_pk: int) -> tuple[int, int]:
    """``(files, bytes)`` of the team's write-up PDF (its share of the storage quota,
    ``challenges.upload_budget``: the stored file's size)."""
    writeup = MethodWriteup.objects.filter(team_id=team_pk).exclude(pdf="").first()
    return (1, _pdf_size(writeup)) if writeup is not None else (0, 0)


def writeup_save(
    *,
    team: Team,
    user: AbstractBaseUser,
    title: str,
    body: str,
    submission_ids: list[int],
    pdf: UploadedFile | None = None,
    remove_pdf: bool = False,
) -> MethodWriteup:
    """Create or update a team's method write-up (members only; nothing changes on refusal).

    A save is an upload of the team (``challenges.upload_budget.text_save_take``): it
    counts once against the team's upload rate (429, ``rate_limited``), its text within
    ``TEAM_TEXT_MAX_CHARS`` (413, ``text_too_long``); an attached PDF must fit in its
    storage quota with the PDF it replaces deleted (413, ``storage_quota``)."""
    if not TeamMembership.objects.filter(team=team, user_id=user.pk).exists():
        raise StandingsError(
            "Only the team's members can write its method.", code="not_member", http_status=403
        )
    with refused_as(refusal=_budget_refused):
        # A save counts once on the team's rate, its PDF with it; the text within its cap.
        text_save_take(team=team, texts=(title, body), what="The method write-up")
    title = title.strip()
    if not title:
        raise StandingsError("Give the method a title.", code="no_title")
    if len(title) > 200:
        raise StandingsError("The title is longer than 200 characters.", code="title_too_long")
    chosen = list(
        Submission.objects.filter(
            pk__in=submission_ids, team=team, status=SubmissionStatus.SCORED
        ).values_list("pk", flat=True)
    )
    unknown = sorted(set(submission_ids) - set(chosen))
    if unknown:
        raise StandingsError(
            "These are not scored submissions of your team: "
            + ", ".join(f"#{pk}" for pk in unknown)
            + "."
        )
    if pdf is not None:
        _check_pdf(pdf)
        _pdf_fits(team, pdf)
    with transaction.atomic():
        if pdf is not None:  # the team's uploads take turns: the quota's last room goes once
            team_upload_lock(team=team)
            _pdf_fits(team, pdf)
        writeup, _ = MethodWriteup.objects.select_for_update().get_or_create(
            team=team, defaults={"title": title, "body": body, "updated_by_id": user.pk}
        )
        writeup.title, writeup.body, writeup.updated_by_id = title, body, user.pk
        old_pdf = writeup.pdf.name if (pdf is not None or remove_pdf) else None
        if pdf is not None:
            writeup.pdf.save("method.pdf", pdf, save=False)
        elif remove_pdf:
            writeup.pdf = ""
        writeup.save()
        writeup.submissions.set(chosen)
    if old_pdf and old_pdf != writeup.pdf.name:
        try:
            writeup.pdf.storage.delete(old_pdf)
        except Exception:
            logger.warning("could not delete %s", old_pdf, exc_info=True)
    return writeup
