"""Notification mails taken from the broker as a worker would take them (mails are jobs: a
message names its row, :mod:`notifications.mail`)."""

from __future__ import annotations

from collections.abc import Iterable

from notifications.mail import MAIL, mail_deliver
from notifications.models import MailDelivery


def mail_rows(taken: Iterable[tuple[str, dict]]) -> list[MailDelivery]:
    """The mails named by the ``(task, kwargs)`` messages ``taken`` (others left out)."""
    pks = [kwargs[MAIL.pk_kwarg] for name, kwargs in taken if name == MAIL.task_name]
    rows = MailDelivery.objects.in_bulk(pks)
    return [rows[pk] for pk in pks]


def deliver_taken(taken: Iterable[tuple[str, dict]]) -> int:
    """Send the mails named by ``taken`` as the worker would; how many went out."""
    return sum(mail_deliver(mail_pk=mail.pk) == "sent" for mail in mail_rows(taken))
