"""Who may use the app, and forms that only the app's own pages can send.

- Binding: 127.0.0.1 by default. Any other address needs a token (the environment variable
  CAREPATH_APP_TOKEN, at least 16 characters): the app then asks for it once per browser and
  keeps a signed cookie.
- Forms: FastAPI has no CSRF protection of its own; the app uses the signed double-submit
  cookie that OWASP's CSRF cheat sheet recommends for it: a random value in an HttpOnly,
  SameSite=Strict cookie, signed with the data folder's secret, repeated in a hidden field of
  every form, and compared in constant time on every POST, which must also come from the app's
  own origin when the browser says where it came from.
"""
from __future__ import annotations

import hashlib
import hmac
import ipaddress
import os
import secrets
from pathlib import Path
from typing import Optional

TOKEN_ENV = "CAREPATH_APP_TOKEN"
MIN_TOKEN = 16
CSRF_COOKIE = "carepath_csrf"
AUTH_COOKIE = "carepath_auth"


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def token_problem(host: str, token: Optional[str]) -> Optional[str]:
    """Why the app must not start on `host` with this token, or None."""
    if token is not None and len(token) < MIN_TOKEN:
        return f"{TOKEN_ENV} must be at least {MIN_TOKEN} characters (a long random one: python -c 'import secrets; print(secrets.token_urlsafe())')"
    if not is_loopback(host) and not token:
        return (f"serving on {host} lets other machines reach the app: set a token first in the environment "
                f"variable {TOKEN_ENV} (at least {MIN_TOKEN} characters), or keep the default --host 127.0.0.1")
    return None


def load_secret(data: Path) -> bytes:
    """The data folder's signing secret (made once, readable by its owner only)."""
    p = Path(data) / "secret.key"
    try:
        raw = p.read_bytes()
        if len(raw) >= 32:
            return raw
    except FileNotFoundError:
        pass
    raw = secrets.token_bytes(32)
    fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(raw)
    return raw


class Guard:
    def __init__(self, secret: bytes, token: Optional[str]):
        self.secret, self.token = secret, token

    def _sign(self, value: str) -> str:
        return hmac.new(self.secret, value.encode(), hashlib.sha256).hexdigest()[:32]

    # CSRF
    def new_csrf(self) -> str:
        v = secrets.token_urlsafe(24)
        return f"{v}.{self._sign('csrf:' + v)}"

    def csrf_ok(self, cookie: Optional[str], field: Optional[str]) -> bool:
        if not cookie or not field or not hmac.compare_digest(cookie, field):
            return False
        v, _, sig = cookie.partition(".")
        return hmac.compare_digest(sig, self._sign("csrf:" + v))

    # token
    @property
    def required(self) -> bool:
        return bool(self.token)

    def auth_value(self) -> str:
        return self._sign("auth:" + (self.token or ""))

    def authed(self, cookie: Optional[str]) -> bool:
        return not self.required or (cookie is not None and hmac.compare_digest(cookie, self.auth_value()))

    def token_ok(self, given: str) -> bool:
        return bool(self.token) and hmac.compare_digest(given.encode(), self.token.encode())
