"""``manage.py changepassword``: Django's command, and the account's API tokens revoked with
the new password, in one transaction (``challenges.accounts.services`` says why every
password change does). A refused change (unknown user, passwords that do not match three
times, a password the validators refuse) changes nothing and revokes nothing."""

from __future__ import annotations

import getpass

from django.contrib.auth import get_user_model
from django.contrib.auth.management.commands import changepassword
from django.db import transaction

from challenges.models import TokenRevocation
from challenges.tokens import api_tokens_revoke_all


class Command(changepassword.Command):
    help = (
        "Change a user's password for django.contrib.auth, and revoke the account's API "
        "tokens."
    )

    def handle(self, *args, **options) -> str:
        database = options["database"]
        with transaction.atomic(using=database):
            done = super().handle(*args, **options)
            user_model = get_user_model()
            user = user_model._default_manager.db_manager(database).get(
                **{user_model.USERNAME_FIELD: options["username"] or getpass.getuser()}
            )
            revoked = api_tokens_revoke_all(user=user, reason=TokenRevocation.CHANGED)
        if revoked:
            self.stdout.write(f"Revoked {revoked} API token(s) of the account.")
        return done
