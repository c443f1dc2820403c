from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = "Notifications, announcements and webhooks"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        """Register on the other apps' hooks; none of them imports this app."""
        from django.db.models.signals import post_save

        from challenge_platform.models import AuditEvent, TeamMembership
        from standings import services as standings_services

        from . import hooks

        post_save.connect(
            hooks.on_membership_saved, sender=TeamMembership, dispatch_uid="notify-new-member"
        )
        post_save.connect(
            hooks.on_audit_event_saved, sender=AuditEvent, dispatch_uid="notify-decision"
        )
        if hooks.on_challenge_finished not in standings_services.finished_hooks:
            standings_services.finished_hooks.append(hooks.on_challenge_finished)
        hooks.connect_platform()
