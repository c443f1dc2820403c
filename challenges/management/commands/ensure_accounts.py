"""Create the local organizer and two demo participants (idempotent) and print their logins."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

# Local, embedded default only: these accounts exist so a newcomer can log in at once.
DEMO_ACCOUNTS = [
    ("organizer", "organizer-demo-pass", True),
    ("alice", "alice-demo-pass", False),
    ("bob", "bob-demo-pass", False),
]


class Command(BaseCommand):
    help = "Create the organizer and demo participant accounts if they don't exist."

    def handle(self, *args, **opts) -> None:
        User = get_user_model()
        self.stdout.write("Accounts (local demo):")
        for username, password, staff in DEMO_ACCOUNTS:
            user, created = User.objects.get_or_create(
                username=username, defaults={"is_staff": staff, "is_superuser": staff}
            )
            if created:
                user.set_password(password)
                user.save()
            role = "organizer" if staff else "participant"
            note = "" if created else " (existing account; password unchanged)"
            self.stdout.write(f"  {role:<12} {username:<10} password: {password}{note}")
