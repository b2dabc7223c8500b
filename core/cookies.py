"""The signed session cookie, its signature checked once per worker and cookie.

Flask's session lives in a cookie signed with the application's secret (the server-side session row
behind the login is accounts.models.UserSession; the cookie carries its token, the active
organisation, the CSRF secret and the language). Flask checked that signature — an HMAC, its key
derived anew, then the JSON decoded — on every request: 0.1 ms a page, for a cookie that stays the
same from page to page until the session changes (bench/bench_cpu.py).

:class:`CheckedCookieSessionInterface` keeps what it read of each cookie it has checked, keyed by
the exact cookie text and the secret. The same text is the same answer, so nothing is trusted that
was not checked; what can change with time is checked again on every request — a cookie older
than the session's lifetime is refused as itsdangerous refuses it. Each request gets its own copy
of the values (a flash message appends to a list in place).
"""

from __future__ import annotations

import copy
import time
from typing import Any

from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from itsdangerous import BadSignature

from core.lru import LRU

CACHE_SIZE = 4096  # cookies per worker: about one per user active in the last minutes


class CheckedCookieSessionInterface(SecureCookieSessionInterface):
    def __init__(self) -> None:
        # (secret, cookie text) → (its values, signed at, whether a value is a list or a dict)
        self._checked: LRU[tuple[dict[str, Any], float, bool]] = LRU(CACHE_SIZE)

    def open_session(self, app: Any, request: Any) -> SecureCookieSession | None:
        value = request.cookies.get(self.get_cookie_name(app))
        if not value or not app.secret_key:
            return super().open_session(app, request)
        max_age = int(app.permanent_session_lifetime.total_seconds())
        key = (app.secret_key, value)
        kept = self._checked.get(key)
        if kept is None:
            serializer = self.get_signing_serializer(app)
            if serializer is None:
                return None
            try:
                data, signed_at = serializer.loads(value, max_age=max_age, return_timestamp=True)
            except BadSignature:  # forged, damaged or expired (SignatureExpired): a new session
                return self.session_class()
            nested = any(isinstance(item, dict | list) for item in data.values())
            kept = (data, signed_at.timestamp(), nested)
            self._checked.put(key, kept)
        data, signed_at, nested = kept
        age = time.time() - signed_at
        if age > max_age or age < 0:  # as itsdangerous: expired since, or signed "in the future"
            return self.session_class()
        return self.session_class(copy.deepcopy(data) if nested else data)
