"""When to try a mail again, and when to give up. No I/O here."""

from __future__ import annotations

from dataclasses import dataclass


class PermanentFailure(Exception):
    """Trying again cannot help (the server refused the recipients, the file is gone)."""


@dataclass(frozen=True)
class RetryPolicy:
    base_seconds: float = 2.0
    cap_seconds: float = 600.0
    max_attempts: int = 8

    def delay(self, attempts: int) -> float:
        """Seconds to wait after the `attempts`-th failed try: doubling from `base`, never over `cap`."""
        return min(self.cap_seconds, self.base_seconds * 2 ** max(0, attempts - 1))

    def gives_up(self, attempts: int, permanent: bool = False) -> bool:
        return permanent or attempts >= self.max_attempts
