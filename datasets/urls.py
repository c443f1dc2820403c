"""Web pages of the datasets app."""

from django.urls import path

from . import views

app_name = "datasets"
urlpatterns = [
    path("tasks/<slug:slug>/", views.task_detail, name="task-detail"),
    path("tasks/<slug:slug>/files/<str:name>", views.task_file, name="task-file"),
]
