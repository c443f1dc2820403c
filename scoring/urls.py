"""Web pages of the scoring app."""

from django.urls import path

from . import owner_views, views

app_name = "scoring"
urlpatterns = [
    path("tasks/<slug:slug>/submit/", views.submission_submit, name="submit"),
    path("tasks/<slug:slug>/manage/", owner_views.task_manage, name="task-manage"),
    path(
        "tasks/<slug:slug>/manage/data/",
        owner_views.task_data_replace,
        name="task-data-replace",
    ),
    path(
        "tasks/<slug:slug>/manage/data/uploads/<int:pk>/",
        owner_views.task_data_upload,
        name="task-data-upload",
    ),
    path(
        "tasks/<slug:slug>/manage/references/",
        owner_views.task_references_manage,
        name="task-references",
    ),
    path("submissions/", views.submission_list, name="submission-list"),
    path("submissions/<int:pk>/", views.submission_detail, name="submission-detail"),
    path("submissions/<int:pk>/final/", views.submission_final_toggle, name="submission-final"),
]
