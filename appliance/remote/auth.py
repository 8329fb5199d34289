"""Who may change things from the home network: one device password, set during commissioning.

The password is stored as an scrypt hash (a slow, memory-hard KDF) in the settings. A login gives
a random bearer token that lives in memory for a limited time; browsers never send an
`Authorization` header on their own, so token-carrying requests need no CSRF protection.
Failed logins are rate-limited per client address.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections import deque
from dataclasses import dataclass, field

from appliance.clock import Clock

# scrypt cost: about 50 ms on a Pi 4 per attempt, 16 MiB of memory.
SCRYPT_N = 2**14
SCRYPT_R = 8
SCRYPT_P = 1
MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 128


class PasswordPolicyError(ValueError):
    """The password does not meet the rules (length, printable characters)."""


def check_password_policy(password: str) -> None:
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        raise PasswordPolicyError(
            f"the password needs {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters"
        )
    if not password.isprintable():
        raise PasswordPolicyError("the password may only contain printable characters")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def hash_password(password: str, salt: bytes | None = None) -> str:
    """`scrypt$n$r$p$salt$hash`, salt and hash in base64."""
    check_password_policy(password)
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(
        password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32
    )
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    """Constant-time check against a stored hash; a malformed hash never matches."""
    try:
        scheme, n, r, p, salt, expected = stored.split("$")
        if scheme != "scrypt":
            return False
        digest = hashlib.scrypt(
            password.encode(),
            salt=base64.b64decode(salt, validate=True),
            n=int(n),
            r=int(r),
            p=int(p),
            dklen=32,
        )
        return hmac.compare_digest(digest, base64.b64decode(expected, validate=True))
    except (ValueError, TypeError):
        return False


@dataclass
class LoginLimiter:
    """At most `max_failures` failed logins per client within `window_s`, then a pause."""

    clock: Clock
    max_failures: int = 5
    window_s: float = 300.0
    _failures: dict[str, deque[float]] = field(default_factory=dict)

    def retry_after_s(self, client: str) -> float:
        """0 when the client may try now, else the seconds until it may."""
        failures = self._recent(client)
        if len(failures) < self.max_failures:
            return 0.0
        return failures[0] + self.window_s - self.clock.monotonic()

    def failed(self, client: str) -> None:
        self._recent(client).append(self.clock.monotonic())

    def succeeded(self, client: str) -> None:
        self._failures.pop(client, None)

    def _recent(self, client: str) -> deque[float]:
        failures = self._failures.setdefault(client, deque())
        now = self.clock.monotonic()
        while failures and now - failures[0] >= self.window_s:
            failures.popleft()
        if len(self._failures) > 1024:  # bound memory against address sprays
            for key in [k for k, v in self._failures.items() if not v][:512]:
                del self._failures[key]
        return failures


@dataclass
class TokenStore:
    """Bearer tokens handed out at login; they expire and die with the process."""

    clock: Clock
    lifetime_s: float = 12 * 3600.0
    max_tokens: int = 32
    _tokens: dict[str, float] = field(default_factory=dict)

    def issue(self) -> str:
        self._expire()
        while len(self._tokens) >= self.max_tokens:
            del self._tokens[min(self._tokens, key=self._tokens.__getitem__)]
        token = secrets.token_urlsafe(32)
        self._tokens[token] = self.clock.monotonic() + self.lifetime_s
        return token

    def valid(self, token: str) -> bool:
        self._expire()
        return any(hmac.compare_digest(token, known) for known in self._tokens)

    def revoke_all(self) -> None:
        """A new password invalidates every session."""
        self._tokens.clear()

    def _expire(self) -> None:
        now = self.clock.monotonic()
        for token in [t for t, expiry in self._tokens.items() if expiry <= now]:
            del self._tokens[token]
