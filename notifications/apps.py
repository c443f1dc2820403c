from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = "Notifications, announcements and webhooks"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        """Subscribe to the platform's events (``challenge_platform.hooks``); none of the
        apps below imports this one."""
        from jobs import registry

        from . import hooks, tasks  # noqa: F401 - tasks: registers its Celery tasks
        from .mail import MAIL
        from .webhooks import DELIVERY

        registry.register(DELIVERY, MAIL)
        hooks.subscribe_all()
