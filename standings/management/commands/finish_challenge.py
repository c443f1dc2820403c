"""``manage.py finish_challenge <slug>``: freeze the final standings (idempotent)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from challenge_platform.models import Challenge
from standings.services import StandingsError, challenge_finish


class Command(BaseCommand):
    help = (
        "Freeze the final standings of a challenge whose end has passed into an immutable, "
        "hashed snapshot. Running it again prints the existing snapshot and changes nothing."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("slug")

    def handle(self, *args, slug: str, **options) -> None:
        challenge = Challenge.objects.filter(slug=slug).first()
        if challenge is None:
            raise CommandError(f"No challenge with slug {slug!r}.")
        try:
            frozen, created = challenge_finish(challenge=challenge)
        except StandingsError as exc:
            raise CommandError(exc.message) from None
        state = "frozen" if created else "already frozen"
        self.stdout.write(
            f"{challenge.slug}: final standings {state} at {frozen.frozen_at:%Y-%m-%d %H:%M:%S} "
            f"UTC, sha256 {frozen.sha256}"
        )
