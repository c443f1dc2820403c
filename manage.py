#!/usr/bin/env python
"""Django's command-line entry point."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "challenge_platform.settings.local")
    from django.conf import settings
    from django.core.management import execute_from_command_line

    try:
        execute_from_command_line(sys.argv)
    finally:
        if settings.configured:  # the process ends without the interpreter's teardown
            from django.db import connections

            connections.close_all()


if __name__ == "__main__":
    # Ends as the interpreter would, less its teardown, where pyarrow's threads can abort
    # a command that did its work (common/launch.py says why).
    from common.launch import run

    run(main)
