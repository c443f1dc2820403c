"""Web pages of the algorithms app."""

from django.urls import path

from . import views

app_name = "algorithms"
urlpatterns = [
    path("algorithms/", views.algorithm_list_page, name="list"),
    path("algorithms/upload/", views.algorithm_upload, name="upload"),
    path("algorithms/<int:pk>/", views.algorithm_detail, name="detail"),
    path("algorithms/<int:pk>/run/", views.algorithm_run, name="run"),
    path(
        "algorithms/<int:pk>/versions/<int:number>/mark/",
        views.algorithm_version_mark,
        name="version-mark",
    ),
    path("algorithm-runs/<int:pk>/cancel/", views.algorithm_run_cancel_page, name="run-cancel"),
]
