from django.apps import AppConfig


class DiscussionConfig(AppConfig):
    name = "discussion"
    verbose_name = "Discussion threads"
    default_auto_field = "django.db.models.BigAutoField"
