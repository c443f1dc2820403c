"""Django's ``migrate``, which first renames a database made under the app's old label
(``challenge_platform``) to ``challenges``: before the migration loader reads the history,
which is why it cannot be a migration or a ``pre_migrate`` receiver (challenges/relabel.py).
It wins over Django's own because ``challenges`` is an installed app (Django runs an app's
command before its core one of the same name)."""

from __future__ import annotations

from typing import Any

from django.core.management import CommandError
from django.core.management.commands import migrate

from challenges.relabel import RelabelRefused, relabel_database


class Command(migrate.Command):
    help = f"{migrate.Command.help} First renames the old app label challenge_platform."

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            renamed = relabel_database(using=options["database"])
        except RelabelRefused as exc:
            raise CommandError(
                f"The app label's rename was refused (nothing changed): {exc}"
            ) from exc
        if renamed and options["verbosity"] >= 1:
            self.stdout.write("Renamed the app label challenge_platform to challenges:")
            for line in renamed:
                self.stdout.write(f"  {line}")
        super().handle(*args, **options)
