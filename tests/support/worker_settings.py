"""Settings of the tests' worker processes: the test settings plus the test-only delays.

The delays (:mod:`tests.support.delays`) are armed by environment variables the fault tests
pass to their worker; production code has no test hook.
"""

from challenge_platform.settings.test import *  # noqa: F403
from tests.support import delays  # noqa: F401 - arms the delays its environment asks for
