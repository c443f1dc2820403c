"""``manage.py check_lookalike_names [--challenge SLUG]``: list the team names (per
challenge) and usernames that read as one another, or hold a character that shows as
nothing, among those created before these were refused (issue 25), and those a new name
would now be refused for: scripts mixed, a control or separator character (issue 66).
Nothing is renamed: an organizer renames or hides in the console. Exit 1 when any is
found."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from challenges.models import Challenge, Team
from challenges.team_names import invisible_characters, lookalike_groups, name_refused_now


class Command(BaseCommand):
    help = (
        "List look-alike team names (per challenge) and usernames, and names with invisible "
        "characters, that predate the rule. Exit status 1 when any is found."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--challenge", metavar="SLUG", help="only this challenge's teams")

    def handle(self, *args, challenge: str | None = None, **options) -> None:
        challenges = Challenge.objects.order_by("slug")
        if challenge:
            challenges = challenges.filter(slug=challenge)
            if not challenges.exists():
                raise CommandError(f"No challenge with slug {challenge!r}.")
        found = 0
        for c in challenges:
            rows = Team.objects.filter(challenge=c).order_by("created_at", "pk")
            listed: set[int] = set()
            for group in lookalike_groups(names=rows.values_list("pk", "name")):
                found += 1
                listed.update(pk for pk, _ in group)
                self.stdout.write(f"teams of {c.slug}: {self._describe(group)}")
            found += self._refused_now(
                f"team of {c.slug}", rows.values_list("pk", "name"), listed
            )
        if not challenge:
            users = get_user_model().objects.order_by("date_joined", "pk")
            listed = set()
            for group in lookalike_groups(names=users.values_list("pk", "username")):
                found += 1
                listed.update(pk for pk, _ in group)
                self.stdout.write(f"users: {self._describe(group)}")
            found += self._refused_now("user", users.values_list("pk", "username"), listed)
        if found:
            raise CommandError(
                f"{found} look-alike or invisible-character name group(s) found; rename or "
                "hide them in the console."
            )
        self.stdout.write("No look-alike names.")

    def _refused_now(self, what: str, rows, listed: set[int]) -> int:
        """Print each name not ``listed`` already that a new one would now be refused for
        (mixed scripts, a control or separator character: issue 66); how many."""
        count = 0
        for pk, name in rows:
            if pk in listed:
                continue
            reason = name_refused_now(name=name)
            if reason is not None:
                count += 1
                self.stdout.write(f"{what}: #{pk} {name!r} would be refused now: {reason}")
        return count

    @staticmethod
    def _describe(group: list[tuple[int, str]]) -> str:
        parts = []
        for pk, name in group:
            hidden = invisible_characters(name=name)
            note = f" (contains {', '.join(hidden)})" if hidden else ""
            parts.append(f"#{pk} {name!r}{note}")
        return " / ".join(parts)
