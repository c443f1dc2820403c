from django.apps import AppConfig

from jobs import registry
from jobs.celery import when_app_made

from . import hooks


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = "Notifications, announcements and webhooks"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        """Subscribe to the platform's events (``challenges.hooks``); none of the
        apps below imports this one."""
        from .job_types import DELIVERY, MAIL

        registry.register(DELIVERY, MAIL)
        when_app_made(callback=_load_lost_decisions)
        hooks.subscribe_all()


def _load_lost_decisions(app: object) -> None:
    """What a dead worker's mails and deliveries become is decided by the modules that send
    them, registered as they are imported (``jobs.holders.when_holder_lost``); a worker's
    liveness asks it. Imported where the Celery app is made (a worker makes it first), not
    in every process."""
    from . import mail, webhooks  # noqa: F401
