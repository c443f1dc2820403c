"""Site-wide pages."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from .models import Challenge


def home(request: HttpRequest) -> HttpResponse:
    challenges = Challenge.objects.prefetch_related("tracks").order_by("-start")
    return render(request, "challenge_platform/home.html", {"challenges": challenges})
