"""Settings of the reliability tests' worker processes: the test settings plus a fault hook.

Importing ``db_fault`` arms the database fault hook (``DB_FAULT_TRIGGER``); the test settings
already read ``SCORING_TEST_DELAY_SECONDS``.
"""

from challenge_platform.settings.test import *  # noqa: F403
from tests.reliability_tests import db_fault  # noqa: F401 - connects the hook
