"""Settings of the reliability tests' worker processes: the tests' worker settings (with the
test-only delays) plus a fault hook.

Importing ``db_fault`` arms the database fault hook (``DB_FAULT_TRIGGER``).
"""

from tests.reliability_tests import db_fault  # noqa: F401 - connects the hook
from tests.support.worker_settings import *  # noqa: F403
