"""Site-wide pages: home, challenge overview, teams, API token."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views import defaults
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from . import selectors, services
from .models import Challenge, Team


def home(request: HttpRequest) -> HttpResponse:
    return render(
        request, "challenge_platform/home.html", {"challenges": selectors.challenge_list()}
    )


def challenge_detail(request: HttpRequest, slug: str) -> HttpResponse:
    challenge = get_object_or_404(Challenge.objects.prefetch_related("tracks__tasks"), slug=slug)
    team = selectors.team_for_user(challenge=challenge, user=request.user)
    return render(
        request, "challenge_platform/challenge_detail.html", {"challenge": challenge, "team": team}
    )


@login_required
@require_POST
def team_create(request: HttpRequest, slug: str) -> HttpResponse:
    challenge = get_object_or_404(Challenge, slug=slug)
    try:
        team = services.team_create(
            challenge=challenge, user=request.user, name=request.POST.get("name", "")
        )
    except services.TeamError as exc:
        messages.error(request, exc.message)
        return redirect("challenge-detail", slug=slug)
    messages.success(
        request, f"Team “{team.name}” created. Share its invite link with your teammates."
    )
    return redirect("team-detail", pk=team.pk)


@login_required
def team_join(request: HttpRequest, code: str | None = None) -> HttpResponse:
    if request.method == "POST":
        code = request.POST.get("code", code or "")
        try:
            team = services.team_member_add(user=request.user, code=code)
        except services.TeamError as exc:
            messages.error(request, exc.message)
            return render(request, "challenge_platform/team_join.html", {"code": code}, status=400)
        messages.success(request, f"You joined “{team.name}”.")
        return redirect("team-detail", pk=team.pk)
    team = (
        Team.objects.filter(invite_code=code or "", is_baseline=False)
        .select_related("challenge")
        .first()
    )
    return render(request, "challenge_platform/team_join.html", {"code": code or "", "team": team})


@login_required
@require_POST
def team_leave(request: HttpRequest, pk: int) -> HttpResponse:
    team = get_object_or_404(Team, pk=pk)
    slug = team.challenge.slug
    try:
        services.team_member_remove(user=request.user, team=team)
    except services.TeamError as exc:
        messages.error(request, exc.message)
        return redirect("team-detail", pk=pk)
    messages.success(request, "You left the team.")
    return redirect("challenge-detail", slug=slug)


@never_cache  # members see the invite code, which lets anyone join the team
def team_detail(request: HttpRequest, pk: int) -> HttpResponse:
    team = get_object_or_404(Team.objects.select_related("challenge"), pk=pk, is_hidden=False)
    is_member = selectors.user_is_member(team=team, user=request.user)
    can_see_private = is_member or selectors.is_organizer(request.user)
    submissions = (
        team.submissions.select_related("task").order_by("-created_at")[:200]
        if can_see_private
        else None
    )
    return render(
        request,
        "challenge_platform/team_detail.html",
        {
            "team": team,
            "is_member": is_member,
            "members": team.members.order_by("username"),
            "submissions": submissions,
            "invite_url": request.build_absolute_uri(f"/join/{team.invite_code}/")
            if is_member
            else None,
        },
    )


@never_cache  # the page shows the API token: no browser or proxy may keep a copy
@login_required
def api_token(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        token = services.token_rotate(user=request.user)
        messages.success(request, "A new token was issued; the old one no longer works.")
    else:
        token = services.token_get_or_create(user=request.user)
    return render(request, "challenge_platform/api_token.html", {"token": token})


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """404 for an address no route matches: JSON under ``/api/`` (the API's error shape),
    the site's page elsewhere."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found.", "code": "not_found"}, status=404)
    return defaults.page_not_found(request, exception)
