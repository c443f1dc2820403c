"""The task page's URL, included by the root URLconf into the ``datasets`` namespace (its name
stays ``datasets:task-detail``, which links and clients know)."""

from django.urls import path

from .task_page import task_detail

urlpatterns = [path("tasks/<slug:slug>/", task_detail, name="task-detail")]
