"""Notification settings, one-click unsubscribe, team invitations by mail."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from challenges.models import Team

from . import events, services
from .forms import PreferencesForm
from .models import Topic


@login_required
def notification_settings(request: HttpRequest) -> HttpResponse:
    current = services.preferences_get(user=request.user)
    form = PreferencesForm(request.POST or None, initial_choices=current)
    if request.method == "POST" and form.is_valid():
        services.preferences_set(
            user=request.user, choices={k: bool(form.cleaned_data.get(k)) for k in Topic.values}
        )
        messages.success(request, "Notification settings saved.")
        return redirect("notifications:settings")
    return render(
        request,
        "notifications/settings.html",
        {"form": form, "has_email": bool(request.user.email)},
    )


@csrf_exempt  # the signed token is the credential; mail clients POST here (RFC 8058)
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows a one-button page (link scanners must not unsubscribe anyone); POST, from
    that button or a mail client's one-click ``List-Unsubscribe-Post``, applies it."""
    if request.method == "POST":
        try:
            user, topic = services.unsubscribe_apply(token=token)
        except services.NotificationError as exc:
            return render(
                request, "notifications/unsubscribe.html", {"error": exc.message}, status=400
            )
        label = "all notifications" if topic == "all" else Topic(topic).label
        return render(
            request, "notifications/unsubscribe.html", {"done": True, "label": label, "who": user}
        )
    return render(request, "notifications/unsubscribe.html", {"token": token})


@login_required
@require_POST
def team_invite(request: HttpRequest, pk: int) -> HttpResponse:
    team = get_object_or_404(Team, pk=pk, is_baseline=False)
    try:
        invitee = events.team_invite(
            team=team, inviter=request.user, who=request.POST.get("who", "")
        )
    except services.NotificationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Invitation mailed to {invitee.get_username()}.")
    return redirect("team-detail", pk=pk)
