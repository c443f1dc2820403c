"""The session engine: Django's database sessions, with session keys checked before use.

Django accepts any cookie value of 8+ characters as a session key and looks it up. A cookie
such as ``sessionid="abcdefgh\\000"`` (legal header characters; Python's cookie parser turns
the octal escape into a NUL) then reaches PostgreSQL, which refuses NUL in text: every page
answered 500. Keys Django issues are lowercase letters and digits; anything else is treated
as no session at all.
"""

from __future__ import annotations

from django.contrib.sessions.backends.base import VALID_KEY_CHARS
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore

_KEY_CHARS = frozenset(VALID_KEY_CHARS)


class SessionStore(DatabaseSessionStore):
    def _validate_session_key(self, key: str | None) -> bool:
        return bool(key) and len(key) >= 8 and _KEY_CHARS.issuperset(key)
