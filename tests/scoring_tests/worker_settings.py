"""Settings of the scoring tests' worker processes: the test settings plus a slow-down knob.

``SCORING_TEST_DELAY_SECONDS`` makes each scoring sleep that long after claiming the
submission, so a fault test can kill a worker while it is deterministically ``scoring``.
"""

import os

from challenge_platform.settings.test import *  # noqa: F403

SCORING_TEST_DELAY_SECONDS = float(os.environ.get("SCORING_TEST_DELAY_SECONDS", "0"))
