"""Pages composed of parts of apps in several layers: the challenge page (its frozen standings,
announcements and metric arrows) and the team page (its invitation form). They live in the
top layer, which may know every app, so no app's template loads the template tags of an app
above it (tests/platform_tests/test_architecture.py). Their URLs and names are unchanged."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.cache import never_cache

from challenges import rules, selectors
from challenges.markdown import stored_html
from challenges.models import Challenge, Team
from challenges.phases import is_multi_phase, phase_rows
from scoring.selectors import submissions_shown
from standings.selectors import writeup_for_team, writeup_visible


def challenge_detail(request: HttpRequest, slug: str) -> HttpResponse:
    challenge = get_object_or_404(Challenge.objects.prefetch_related("tracks__tasks"), slug=slug)
    team = selectors.team_for_user(challenge=challenge, user=request.user)
    return render(
        request,
        "site_pages/challenge_detail.html",
        {
            "challenge": challenge,
            "phase": selectors.challenge_phase(challenge=challenge),
            "description_html": stored_html(value=challenge.description_html),
            "team": team,
            "rules_required": rules.rules_required(challenge=challenge),
            "rules_accepted": rules.rules_accepted(challenge=challenge, user=request.user),
            "teams_closed": selectors.teams_closed(challenge=challenge),
            "phases": phase_rows(challenge=challenge)
            if is_multi_phase(challenge=challenge)
            else None,
        },
    )


@never_cache  # members see the invite code, which lets anyone join the team
def team_detail(request: HttpRequest, pk: int) -> HttpResponse:
    team = get_object_or_404(Team.objects.select_related("challenge"), pk=pk)
    is_member = selectors.user_is_member(team=team, user=request.user)
    if team.is_hidden and not (is_member or selectors.is_organizer(user=request.user)):
        raise Http404("no such team")  # a hidden team's page stays for it, to read why
    can_see_private = is_member or selectors.is_organizer(user=request.user)
    submissions = (
        submissions_shown(  # what the reader may see of each public score
            # (docs/organizers/ladder.md)
            submissions=list(
                team.submissions.select_related(
                    "task__track__challenge", "ladder_step", "phase"
                ).order_by("-created_at")[:200]
            ),
            user=request.user,
        )
        if can_see_private
        else None
    )
    return render(
        request,
        "site_pages/team_detail.html",
        {
            "team": team,
            "is_member": is_member,
            "members": team.members.order_by("username"),
            "submissions": submissions,
            "invite_url": request.build_absolute_uri(f"/join/{team.invite_code}/")
            if is_member
            else None,
            "teams_closed": selectors.teams_closed(challenge=team.challenge),
            # A challenge of several phases: what is open now, entries per phase (0066).
            "phases": phase_rows(challenge=team.challenge)
            if is_multi_phase(challenge=team.challenge)
            else None,
            # the page links a write-up only where there is one the reader may open
            "writeup": None if team.is_baseline else writeup_for_team(team=team),
            "writeup_visible": writeup_visible(team=team, user=request.user),
        },
    )
