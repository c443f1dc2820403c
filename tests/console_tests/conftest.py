"""Console tests reuse the notifications fixtures (real SMTP, the broker's queue) and the
browser fixtures."""

from tests.support.browser import browser, browser_page  # noqa: F401 - fixtures
from tests.support.notifications import broker, smtp_settings  # noqa: F401 - fixtures
from tests.support.smtp import smtp_server  # noqa: F401 - fixture
