"""Pages of the end: winners per track, method write-ups, the post-challenge board."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from challenges.markdown import stored_html
from challenges.models import Team, Track
from challenges.selectors import is_organizer, user_is_member
from challenges.split_access import page_split
from datasets.models import Task

from . import selectors, services, writeups
from .forms import WriteupForm


def track_winners(request: HttpRequest, slug: str) -> HttpResponse:
    track = get_object_or_404(Track.objects.select_related("challenge"), slug=slug)
    result = selectors.winners_for_track(track=track, user=request.user)
    winners = [
        (w, stored_html(value=w.writeup.body_html) if w.writeup else None) for w in result.winners
    ]
    return render(
        request,
        "standings/winners.html",
        {
            "track": track,
            "challenge": track.challenge,
            "frozen": result.frozen,
            "revealed": result.revealed,
            "organizer_preview": result.revealed
            and not track.challenge.private_visible()
            and is_organizer(user=request.user),
            "winners": winners,
            "cowinners": result.cowinners,
            "not_cowinners": result.not_cowinners,
            "cowinner_rule": result.cowinner_rule,
            "separable": result.separable,
            "cowinners_mode": result.cowinners_mode,
            "confidence_percent": f"{100 * (result.confidence_level or 0.95):g}",
            "prize_html": stored_html(value=track.prize_html) if track.prize else "",
        },
    )


def writeup_detail(request: HttpRequest, pk: int) -> HttpResponse:
    team = get_object_or_404(Team.objects.select_related("challenge"), pk=pk, is_hidden=False)
    if not selectors.writeup_visible(team=team, user=request.user):
        raise Http404("write-ups are published when the challenge ends")
    writeup = selectors.writeup_for_team(team=team)
    return render(
        request,
        "standings/writeup.html",
        {
            "team": team,
            "writeup": writeup,
            "body_html": stored_html(value=writeup.body_html) if writeup else "",
            "can_edit": user_is_member(team=team, user=request.user),
        },
    )


def writeup_pdf(request: HttpRequest, pk: int) -> FileResponse:
    team = get_object_or_404(Team.objects.select_related("challenge"), pk=pk, is_hidden=False)
    writeup = selectors.writeup_for_team(team=team)
    visible = selectors.writeup_visible(team=team, user=request.user)
    if not visible or writeup is None or not writeup.pdf:
        raise Http404("no PDF")
    response = FileResponse(
        writeup.pdf.open("rb"), content_type="application/pdf", filename=f"method-{team.pk}.pdf"
    )
    response["Content-Disposition"] = f'inline; filename="method-{team.pk}.pdf"'
    return response


@login_required
def writeup_edit(request: HttpRequest, pk: int) -> HttpResponse:
    team = get_object_or_404(Team.objects.select_related("challenge"), pk=pk)
    if not user_is_member(team=team, user=request.user):
        raise Http404("not your team")
    writeup = selectors.writeup_for_team(team=team)
    initial = {}
    if writeup is not None:
        initial = {
            "title": writeup.title,
            "body": writeup.body,
            "submissions": list(writeup.submissions.values_list("pk", flat=True)),
        }
    form = WriteupForm(request.POST or None, request.FILES or None, team=team, initial=initial)
    status = 200
    retry: int | None = None
    if request.method == "POST":
        if form.is_valid():
            try:
                writeups.writeup_save(
                    team=team,
                    user=request.user,
                    title=form.cleaned_data["title"],
                    body=form.cleaned_data["body"],
                    submission_ids=[s.pk for s in form.cleaned_data["submissions"]],
                    pdf=form.cleaned_data.get("pdf"),
                    remove_pdf=form.cleaned_data.get("remove_pdf", False),
                )
            except services.StandingsError as exc:
                form.add_error(None, exc.message)
                status = exc.http_status
                retry = exc.retry_seconds()
            else:
                messages.success(request, "Method write-up saved.")
                return redirect("standings:writeup", pk=team.pk)
        else:
            status = 400
    response = render(
        request,
        "standings/writeup_edit.html",
        {"team": team, "form": form, "writeup": writeup},
        status=status,
    )
    if retry is not None:  # the team's upload rate (challenges.upload_budget)
        response["Retry-After"] = str(retry)
    return response


def post_challenge_leaderboard(request: HttpRequest, slug: str) -> HttpResponse:
    task = get_object_or_404(Task.objects.select_related("track__challenge"), slug=slug)
    challenge = task.track.challenge
    shown = page_split(request=request, challenge=challenge)
    split = shown.split
    hidden = selectors.post_challenge_hidden(task=task, split=split, user=request.user)
    return render(
        request,
        "standings/post_challenge.html",
        {
            "task": task,
            "challenge": challenge,
            "split": split,
            "rows": [] if hidden else selectors.post_challenge_board(task=task, split=split),
            "withheld": selectors.POST_CHALLENGE_LADDER if hidden else None,
            "ended": timezone.now() >= challenge.end,
            "private_visible": shown.private_visible,
        },
    )
