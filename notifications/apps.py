from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = "Notifications, announcements and webhooks"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        """Subscribe to the platform's events (``challenge_platform.hooks``); none of the
        apps below imports this one."""
        from . import hooks

        hooks.subscribe_all()
