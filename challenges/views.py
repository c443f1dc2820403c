"""Site-wide pages: home, teams' forms, API token (the challenge and team pages, composed of
higher apps' parts, are ``site_pages``')."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.templatetags.static import static
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.views import defaults
from django.views.decorators.cache import cache_control, never_cache
from django.views.decorators.http import require_http_methods, require_POST

from kinds import kind_names, kinds_in_words

from . import rules, selectors, services, tokens
from .markdown import stored_html
from .models import Challenge, Team


def healthz(request: HttpRequest) -> HttpResponse:
    """A load balancer's health check: this web process answers. No database, no cache, so a
    database or broker outage (which every web host shares) does not take all of them out of
    the balancer; those answer with their own errors."""
    return HttpResponse("ok\n", content_type="text/plain")


FAVICON = "challenge_platform/favicon.ico"  # drawn by scripts/make_favicon.py


@cache_control(public=True, max_age=86400)
def favicon(request: HttpRequest) -> HttpResponse:
    """``/favicon.ico``, which browsers ask for on pages without an icon link (the API's JSON,
    file downloads): the static file, served with the others."""
    return redirect(static(FAVICON))


def home(request: HttpRequest) -> HttpResponse:
    challenges = selectors.challenge_list()
    # The kinds of task the challenges hold (every kind the platform knows, before any task).
    kinds = selectors.challenge_task_kinds(challenges=challenges) or set(kind_names())
    return render(
        request,
        "challenge_platform/home.html",
        {"challenges": challenges, "kinds_text": kinds_in_words(kinds)},
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
    closed = selectors.teams_closed(challenge=team.challenge) if team else None
    return render(
        request,
        "challenge_platform/team_join.html",
        {"code": code or "", "team": team, "teams_closed": closed},
    )


@login_required
@require_POST
def team_leave(request: HttpRequest, pk: int) -> HttpResponse:
    team = get_object_or_404(Team, pk=pk)
    slug = team.challenge.slug
    try:
        services.team_member_remove(user=request.user, team=team)
    except services.TeamError as exc:
        messages.error(request, exc.message)
        if team.is_hidden:  # a hidden team has no page: say it on the challenge's
            return redirect("challenge-detail", slug=slug)
        return redirect("team-detail", pk=pk)
    messages.success(request, "You left the team.")
    return redirect("challenge-detail", slug=slug)


@never_cache  # a new key is shown here once: no browser or proxy may keep a copy
@login_required
@require_http_methods(["GET", "POST"])
def api_token(request: HttpRequest) -> HttpResponse:
    """The user's API tokens: each listed by its prefix; a new one's key is shown once, in
    the answer that creates it; any one can be revoked."""
    new_key = None
    status = 200
    if request.method == "POST":
        action = request.POST.get("action", "create")
        if action == "revoke":
            token = (
                tokens.api_tokens_for(user=request.user)
                .filter(token_key=request.POST.get("token", ""))
                .first()
            )
            if token is None:
                messages.error(request, "There is no such token of yours.")
                status = 404
            else:
                tokens.api_token_revoke(token=token, actor=request.user)
                messages.success(
                    request,
                    f"Token {tokens.token_prefix(token=token)} revoked: "
                    "clients using it are refused.",
                )
        else:
            try:
                _, new_key = tokens.api_token_create(user=request.user)
            except tokens.TokenLimitReached as exc:
                messages.error(request, exc.message)
                status = 409
    listed = [(t, tokens.token_prefix(token=t)) for t in tokens.api_tokens_for(user=request.user)]
    return render(
        request,
        "challenge_platform/api_token.html",
        {"tokens": listed, "new_key": new_key},
        status=status,
    )


def _safe_next(request: HttpRequest, fallback: str) -> str:
    """``next`` when it points into this site, else ``fallback`` (no open redirect)."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


@require_http_methods(["GET", "POST"])
def challenge_rules(request: HttpRequest, slug: str) -> HttpResponse:
    """The rules (sanitized Markdown) and, for a logged-in participant, the accept button."""
    challenge = get_object_or_404(Challenge, slug=slug)
    back = reverse("challenge-detail", kwargs={"slug": slug})
    if request.method == "POST":
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        try:
            version = int(request.POST.get("version", ""))
        except ValueError:
            version = None
        try:
            rules.rules_accept(challenge=challenge, user=request.user, version=version)
        except rules.RulesError as exc:
            messages.error(request, exc.message)
            return redirect(f"{request.path}?{urlencode({'next': _safe_next(request, back)})}")
        messages.success(
            request,
            f"You accepted the rules of {challenge.title} (version {challenge.rules_version}).",
        )
        return redirect(_safe_next(request, back))
    return render(
        request,
        "challenge_platform/challenge_rules.html",
        {
            "challenge": challenge,
            "rules_html": stored_html(value=challenge.rules_html),
            "required": rules.rules_required(challenge=challenge),
            "accepted": rules.rules_accepted(challenge=challenge, user=request.user),
            "next": _safe_next(request, back),
        },
    )


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """404 for an address no route matches: JSON under ``/api/`` (the API's error shape),
    the site's page elsewhere."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found.", "code": "not_found"}, status=404)
    return defaults.page_not_found(request, exception)
