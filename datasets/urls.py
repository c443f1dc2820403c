"""Web pages of the datasets app."""

from django.urls import path

from . import views

# No app_name: the root URLconf gives the ``datasets`` namespace to these and to the task page
# (``leaderboard.task_page_urls``), composed above.
urlpatterns = [
    path("tasks/<slug:slug>/files/<str:name>", views.task_file, name="task-file"),
]
