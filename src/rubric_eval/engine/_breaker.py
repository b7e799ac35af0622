"""A circuit breaker per endpoint: stop starting calls to a server that cannot be reached.

It opens when one call has failed to connect ``threshold`` times in a row while no call to the
endpoint succeeded since that call's first failure: the server is down, not busy. From then on the
engine starts no new call there and stops retrying the ones in flight; their records are unscored
with the reason, and what was done is saved. A success closes nothing: once open, it stays open for
the run (a rerun of the same command tries again and resumes from the cache).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Breaker:
    endpoint: str
    threshold: int
    successes: int = 0
    open_reason: str | None = None

    @property
    def is_open(self) -> bool:
        return self.open_reason is not None

    def success(self) -> None:
        self.successes += 1

    def connection_failed(self, consecutive: int, successes_at_first: int, message: str) -> bool:
        """Record a call's ``consecutive``-th connection failure in a row; True when this opens the breaker.

        ``successes_at_first`` is `successes` when that call first failed to connect.
        """
        if self.is_open or not self.threshold:
            return False
        if consecutive >= self.threshold and self.successes == successes_at_first:
            self.open_reason = (
                f"not sent: {self.endpoint} is unreachable ({consecutive} connection failures in a row "
                f"and no successful call; last: {message}). Calls to it were stopped; rerun the same "
                "command once it is reachable (finished calls come from the cache)"
            )
            return True
        return False
