"""Web pages of the scoring app: submit (works without JavaScript), my submissions, detail,
and the final-selection toggle."""

from __future__ import annotations

import hashlib

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from challenges.phases import BLIND_LADDER, BLIND_WITHHELD, submission_figures_visible
from challenges.selectors import team_for_user
from challenges.upload_budget import BUDGET_CODES
from common import board_modes
from common.splits import SHOWN_ORDER
from datasets.models import Task
from datasets.selectors import task_get_or_404
from scoring import selectors
from scoring.forms import SubmissionForm
from scoring.models import SubmissionStatus
from scoring.reference_selectors import submission_reference_flips
from scoring.services.finals import submission_final_set
from scoring.services.upload import (
    ADMITTED,
    SubmissionRefused,
    idempotency_key_check,
    submission_create,
)

LIST_LIMIT = 200


def _back(request: HttpRequest, default: str) -> HttpResponseRedirect:
    target = request.POST.get("next") or ""
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return HttpResponseRedirect(target)
    return HttpResponseRedirect(default)


@login_required
@require_http_methods(["GET", "POST"])
def submission_submit(request: HttpRequest, slug: str) -> HttpResponse:
    """GET: a page with the submit form. POST: the form's target when JavaScript is off."""
    task = task_get_or_404(slug=slug)
    submit_page = reverse("scoring:submit", kwargs={"slug": task.slug})
    if request.method == "POST":
        form = SubmissionForm(request.POST, request.FILES)
        if not form.is_valid():
            for problems in form.errors.values():
                messages.error(request, problems[0])
            return _back(request, submit_page)
        try:
            submission = submission_create(
                task=task,
                user=request.user,
                file=form.cleaned_data["file"],
                note=form.cleaned_data["note"],
                idempotency_key=_form_upload_key(form),
                admission=getattr(request, ADMITTED, None),
            )
        except SubmissionRefused as exc:
            if exc.code in BUDGET_CODES:
                return submit_page_refused(request, task=task, refusal=exc)
            messages.error(request, exc.message)
            return _back(request, submit_page)
        messages.success(
            request, f"Submission #{submission.pk} received; it will be scored in a moment."
        )
        return redirect("scoring:submission-detail", pk=submission.pk)
    return _submit_page(request, task=task)


def _form_upload_key(form: SubmissionForm) -> str:
    """The upload's idempotency key: the form's own (drawn with the page) and the file's
    digest, so the same form sent again with the same file is one submission, and another
    file sent from the same page (back, another file) another; "" without a form key."""
    key = form.cleaned_data.get("idempotency_key") or ""
    if not key:
        return ""
    digest = hashlib.sha256()
    upload = form.cleaned_data["file"]
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    return idempotency_key_check(key=f"web-{key}-{digest.hexdigest()[:32]}")


def _submit_page(
    request: HttpRequest, *, task: Task, refusal: SubmissionRefused | None = None
) -> HttpResponse:
    team = team_for_user(user=request.user, challenge=task.track.challenge)
    usage = selectors.submission_daily_usage(team=team, task=task) if team else None
    context = {"task": task, "team": team, "usage": usage, "form": SubmissionForm()}
    if refusal is None:
        return render(request, "scoring/submit.html", context)
    context["upload_error"] = refusal.message
    return render(request, "scoring/submit.html", context, status=refusal.http_status)


def submit_page_refused(
    request: HttpRequest, *, task: Task, refusal: SubmissionRefused
) -> HttpResponse:
    """The submit page again, the refusal shown in the form with its status (429, 413) and
    ``Retry-After``: the team's upload budget (``challenges.upload_budget``), from
    this view or before the body is read (``scoring.admission``)."""
    response = _submit_page(request, task=task, refusal=refusal)
    seconds = refusal.retry_seconds()
    if seconds is not None:
        response["Retry-After"] = str(seconds)
    return response


@login_required
@require_GET
def submission_list(request: HttpRequest) -> HttpResponse:
    """The user's teams' submissions with live status (organizers: everyone's)."""
    task_slug = request.GET.get("task") or None
    task = task_get_or_404(slug=task_slug) if task_slug else None
    submissions = list(
        selectors.submission_list(user=request.user, task_slug=task_slug)[:LIST_LIMIT]
    )
    # What the reader may see of each public score (docs/organizers/ladder.md).
    selectors.submissions_shown(submissions=submissions, user=request.user)
    poll_url = reverse("api-submission-list") + f"?limit={LIST_LIMIT}"
    if task_slug:
        poll_url += f"&task={task.slug}"
    return render(
        request,
        "scoring/submission_list.html",
        {
            "task": task,
            "submissions": submissions,
            "poll_url": poll_url,
            "pending": any(s.status in selectors.PENDING for s in submissions),
        },
    )


@login_required
@require_GET
def submission_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """Every metric of every split the user may see, or the validation message."""
    submission = selectors.submission_get(user=request.user, submission_pk=pk)
    if submission is None:
        raise Http404("no such submission")
    scores = selectors.submission_visible_scores(submission=submission, user=request.user)
    splits = [split for split in SHOWN_ORDER if split in scores]
    metrics: list[str] = []
    for split in splits:
        metrics += [name for name in scores[split] if name not in metrics]
    digits = {split: 6 for split in splits}
    if "public" in digits and not selectors.public_scores_shown(
        task=submission.task, user=request.user
    ):
        digits["public"] = selectors.shown_score_decimals(submission=submission)
    rows = [
        (name, [(scores[split].get(name), digits[split]) for split in splits]) for name in metrics
    ]
    blind = not submission_figures_visible(submission=submission, user=request.user)
    return render(
        request,
        "scoring/submission_detail.html",
        {
            "blind": BLIND_WITHHELD if blind else None,
            "ladder": BLIND_LADDER if blind else selectors.submission_ladder(submission=submission),
            "laddered": board_modes.is_ladder(submission.task.public_board),
            "exact_shown": selectors.public_scores_shown(task=submission.task, user=request.user),
            "submission": submission,
            "task": submission.task,
            "splits": splits,
            "rows": rows,
            "private_hidden": not selectors.private_scores_visible(
                submission=submission, user=request.user
            ),
            "pending": submission.status in selectors.PENDING,
            "failed": submission.status == SubmissionStatus.FAILED,
            "poll_url": reverse("api-submission-detail", kwargs={"pk": submission.pk}),
            "made_by": selectors.submission_algorithm(submission=submission),
            "reference_flips": submission_reference_flips(submission=submission, user=request.user)
            if submission.status == SubmissionStatus.SCORED and not blind
            else {},
        },
    )


@login_required
@require_POST
def submission_final_toggle(request: HttpRequest, pk: int) -> HttpResponse:
    """Mark (``final=1``) or unmark (``final=0``) a submission as final, back to its page."""
    submission = selectors.submission_get(user=request.user, submission_pk=pk)
    if submission is None:
        raise Http404("no such submission")
    value = request.POST.get("final")
    if value not in ("0", "1"):  # a hand-made form: say so, change nothing
        messages.error(request, "The final toggle takes final=1 (mark) or final=0 (unmark).")
        return redirect("scoring:submission-detail", pk=submission.pk)
    final = value == "1"
    try:
        submission_final_set(submission=submission, user=request.user, final=final)
    except SubmissionRefused as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            f"Submission #{submission.pk} is now final: it counts for the private leaderboard."
            if final
            else f"Submission #{submission.pk} is no longer final.",
        )
    return redirect("scoring:submission-detail", pk=submission.pk)
