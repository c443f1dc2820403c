#!/usr/bin/env python
"""Django's command-line entry point."""

import gc
import os
import sys

# A command's jobs that could not reach the broker: its exit status (the jobs are saved and
# run once the broker answers, but the organizer must hear that the platform is not running).
JOBS_NOT_SENT = 3


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "challenge_platform.settings.local")
    _collect_after_setup()
    from django.conf import settings
    from django.core.management import execute_from_command_line

    from jobs.publish_failures import publish_failures, report_publish_failures_at_exit

    report_publish_failures_at_exit()
    try:
        execute_from_command_line(sys.argv)
    finally:
        gc.enable()  # a command that never set Django up (help, a settings error)
        if settings.configured:  # the process ends without the interpreter's teardown
            from django.db import connections

            connections.close_all()
    failures = publish_failures()
    if failures.count:
        from runtime.localredis import display_redis_url

        sys.stderr.write(
            f"{failures.count} job(s) could not be sent to the broker at "
            f"{display_redis_url(settings.CELERY_BROKER_URL)} ({failures.last}): they are saved "
            f"and run once it answers (within JOB_REPUBLISH_SECONDS, "
            f"{settings.JOB_REPUBLISH_SECONDS:g} s); is the platform running (make run)?\n"
        )
        sys.exit(JOBS_NOT_SENT)


def _collect_after_setup() -> None:
    """The cyclic garbage collector off while the platform starts, on again once Django is
    set up, with what the start made frozen out of its reach (``gc.freeze``).

    The start imports some 1,400 modules and builds the app registry: about 200,000
    objects, which set off dozens of collections that free nothing (0.1 s of a cold
    command's 0.6 s start). Django's own management utility calls ``django.setup``; it is
    wrapped here, so that a command which never sets Django up still ends its start."""
    import django

    setup = django.setup

    def setup_then_collect(*args: object, **kwargs: object) -> None:
        try:
            setup(*args, **kwargs)
        finally:
            django.setup = setup
            gc.freeze()
            gc.enable()

    gc.disable()
    django.setup = setup_then_collect


if __name__ == "__main__":
    # Ends as the interpreter would, less its teardown, where pyarrow's threads can abort
    # a command that did its work (common/launch.py says why).
    from common.launch import run

    run(main)
