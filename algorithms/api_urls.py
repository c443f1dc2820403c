"""REST API v1 routes of the algorithms app (docs/architecture.md §9)."""

from django.urls import path

from . import api, benchmark_api, owner_api

urlpatterns = [
    path(
        "challenges/<slug:slug>/algorithms/",
        api.AlgorithmCreateApi.as_view(),
        name="api-algorithm-create",
    ),
    path(
        "challenges/<slug:slug>/algorithm-runs/admission/",
        api.AlgorithmRunAdmissionApi.as_view(),
        name="api-algorithm-run-admission",
    ),
    path("algorithms/", api.AlgorithmListApi.as_view(), name="api-algorithm-list"),
    path("algorithms/<int:pk>/", api.AlgorithmDetailApi.as_view(), name="api-algorithm-detail"),
    path(
        "algorithms/<int:pk>/versions/<int:number>/",
        benchmark_api.AlgorithmVersionApi.as_view(),
        name="api-algorithm-version",
    ),
    path(
        "challenges/<slug:slug>/benchmark/",
        benchmark_api.ChallengeBenchmarkApi.as_view(),
        name="api-challenge-benchmark",
    ),
    path(
        "algorithms/<int:pk>/runs/",
        api.AlgorithmRunCreateApi.as_view(),
        name="api-algorithm-run-create",
    ),
    path(
        "algorithm-runs/<int:pk>/",
        api.AlgorithmRunDetailApi.as_view(),
        name="api-algorithm-run-detail",
    ),
    path(
        "algorithm-runs/<int:pk>/cancel/",
        api.AlgorithmRunCancelApi.as_view(),
        name="api-algorithm-run-cancel",
    ),
    path(
        "tasks/<slug:slug>/baselines/",
        owner_api.TaskBaselineQueueApi.as_view(),
        name="api-task-baseline-queue",
    ),
]
