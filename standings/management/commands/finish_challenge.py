"""``manage.py finish_challenge <slug>``: freeze the final standings (idempotent);
``--end-now --reason TEXT`` ends a running challenge first; ``--refreeze --reason TEXT``
replaces the frozen standings with the boards as they rank now."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from challenges.audit import ReasonRequired
from challenges.models import Challenge
from standings.services import (
    StandingsError,
    challenge_end_now,
    challenge_finish,
    standings_refreeze,
)


class Command(BaseCommand):
    help = (
        "Freeze the final standings of a challenge whose end has passed into an immutable, "
        "hashed snapshot. Running it again prints the existing snapshot and changes nothing. "
        "With --end-now (and a --reason) a running challenge ends now, then freezes. "
        "With --refreeze (and a --reason, recorded in the audit log) the snapshot is replaced "
        "by the boards as they rank now, after a late disqualification or rescore."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("slug")
        action = parser.add_mutually_exclusive_group()
        action.add_argument(
            "--end-now",
            action="store_true",
            help="end a running challenge now (sets its end; needs --reason), then freeze",
        )
        action.add_argument(
            "--refreeze",
            action="store_true",
            help="replace the frozen standings with the current boards (needs --reason)",
        )
        parser.add_argument("--reason", default="", help="why (recorded in the audit log)")

    def handle(
        self, *args, slug: str, end_now: bool, refreeze: bool, reason: str, **options
    ) -> None:
        challenge = Challenge.objects.filter(slug=slug).first()
        if challenge is None:
            raise CommandError(f"No challenge with slug {slug!r}.")
        if (end_now or refreeze) and not reason.strip():
            flag = "--end-now" if end_now else "--refreeze"
            raise CommandError(f"{flag} needs --reason (it goes in the audit log).")
        # The command line is the organizer's own hand: recorded as the system, with the
        # reason, since no user is signed in here.
        try:
            if refreeze:
                frozen, created = standings_refreeze(challenge=challenge, actor=None, reason=reason)
                state = "re-frozen" if created else "unchanged (the boards rank as frozen)"
            elif end_now:
                was_running = challenge.is_open()
                frozen, created = challenge_end_now(challenge=challenge, actor=None, reason=reason)
                state = "frozen" if created else "already frozen"
                if was_running:
                    self.stdout.write(
                        f"{challenge.slug}: ended now ({challenge.end:%Y-%m-%d %H:%M:%S} UTC)"
                    )
            else:
                frozen, created = challenge_finish(challenge=challenge)
                state = "frozen" if created else "already frozen"
        except StandingsError as exc:
            message = exc.message
            if exc.code == "not_ended":
                message += (
                    f" To end it now: manage.py finish_challenge {challenge.slug} --end-now "
                    "--reason TEXT"
                )
            raise CommandError(message) from None
        except ReasonRequired as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(
            f"{challenge.slug}: final standings {state} at {frozen.frozen_at:%Y-%m-%d %H:%M:%S} "
            f"UTC, sha256 {frozen.sha256}"
        )
