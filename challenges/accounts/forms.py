"""The console's password forms, saving through ``accounts.services`` (issue 39): a new
password revokes the account's API tokens."""

from __future__ import annotations

from django.contrib.admin.forms import AdminPasswordChangeForm as OwnPasswordChangeForm
from django.contrib.auth.forms import AdminPasswordChangeForm

from challenges.models import TokenRevocation

from .services import account_password_set


class AccountPasswordSetForm(AdminPasswordChangeForm):
    """``/admin/auth/user/<id>/password/``: an organizer sets a new password (or none)."""

    def save(self, commit: bool = True):
        usable = self.cleaned_data.get("set_usable_password", True)
        return account_password_set(
            user=self.user,
            password=self.cleaned_data["password1"] if usable else None,
            reason=TokenRevocation.SET_ANEW,
        )


class AccountPasswordChangeForm(OwnPasswordChangeForm):
    """``/admin/password_change/``: a console user changes their own password."""

    def save(self, commit: bool = True):
        return account_password_set(
            user=self.user,
            password=self.cleaned_data["new_password1"],
            reason=TokenRevocation.CHANGED,
        )
