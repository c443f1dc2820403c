"""The organizers' health panel, at ``/admin/health/`` (the queues, the workers, and whether
the benchmark has settled: ``operations.settled``, the same as ``manage.py benchmark_health``),
and the dashboard on the console's first page (``operations.dashboard``)."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path

from operations.dashboard import console_dashboard
from operations.selectors import health_status
from operations.settled import benchmark_health


def health_view(request: HttpRequest) -> HttpResponse:
    context = {
        **admin.site.each_context(request),
        "title": "Health",
        "health": health_status(),
        "settled": benchmark_health(),
    }
    return TemplateResponse(request, "admin/health.html", context)


_original_get_urls = admin.site.get_urls


def _get_urls():
    return [
        path("health/", admin.site.admin_view(health_view), name="health"),
        *_original_get_urls(),
    ]


admin.site.get_urls = _get_urls


_original_index = admin.site.index


def _index(request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
    context = {**(extra_context or {}), "dashboard": console_dashboard()}
    return _original_index(request, extra_context=context)


admin.site.index = _index
