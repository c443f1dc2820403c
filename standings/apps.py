from django.apps import AppConfig


class StandingsConfig(AppConfig):
    name = "standings"
    verbose_name = "Final standings and write-ups"
    default_auto_field = "django.db.models.BigAutoField"
