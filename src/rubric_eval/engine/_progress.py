"""Progress for long steps: a rich bar on a terminal, plain log lines otherwise, or nothing."""

from __future__ import annotations

import sys
import time
from typing import Any, Literal, Protocol

Mode = Literal["auto", "rich", "plain", "quiet"]


class Progress(Protocol):
    def advance(self, *, ok: bool, cost_usd: float, priced: bool = True) -> None: ...

    def close(self) -> None: ...


def _eta(done: int, total: int, elapsed: float) -> str:
    if done == 0 or done >= total:
        return "0s" if done >= total else "?"
    seconds = elapsed / done * (total - done)
    return f"{seconds:.0f}s" if seconds < 120 else f"{seconds / 60:.1f}min"


def _cost_text(cost: float, unpriced: int) -> str:
    return f"${cost:.4f}" + (f" + unknown ({unpriced} unpriced)" if unpriced else "")


class _Quiet:
    def advance(self, *, ok: bool, cost_usd: float, priced: bool = True) -> None:
        return None

    def close(self) -> None:
        return None


class _Plain:
    """One line to stderr at most every ``every_s`` seconds, and one at the end."""

    def __init__(self, description: str, total: int, every_s: float = 10.0) -> None:
        self.description, self.total, self.every_s = description, total, every_s
        self.done = self.failed = self.unpriced = 0
        self.cost = 0.0
        self.started = self.last = time.monotonic()

    def _line(self) -> str:
        elapsed = time.monotonic() - self.started
        rate = self.done / elapsed if elapsed > 0 else 0.0
        eta = _eta(self.done, self.total, elapsed)
        return (
            f"{self.description}: {self.done}/{self.total} done, {self.failed} failed, "
            f"{rate:.1f}/s, ETA {eta}, {_cost_text(self.cost, self.unpriced)}"
        )

    def advance(self, *, ok: bool, cost_usd: float, priced: bool = True) -> None:
        self.done += 1
        self.failed += not ok
        self.unpriced += not priced
        self.cost += cost_usd
        now = time.monotonic()
        if now - self.last >= self.every_s and self.done < self.total:
            self.last = now
            print(self._line(), file=sys.stderr, flush=True)

    def close(self) -> None:
        print(self._line(), file=sys.stderr, flush=True)


class _Rich:
    def __init__(self, description: str, total: int) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            TaskProgressColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )
        from rich.progress import Progress as RichProgress

        self._bar = RichProgress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TaskProgressColumn(),
            TextColumn("{task.fields[rate]:.1f}/s"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            TextColumn("{task.fields[cost]}  failed {task.fields[failed]}"),
            console=Console(stderr=True),
            transient=False,
        )
        self._task = self._bar.add_task(description, total=total, cost="$0.0000", failed=0, rate=0.0)
        self._started = time.monotonic()
        self._cost = 0.0
        self._failed = self._done = self._unpriced = 0
        self._bar.start()

    def advance(self, *, ok: bool, cost_usd: float, priced: bool = True) -> None:
        self._done += 1
        self._cost += cost_usd
        self._failed += not ok
        self._unpriced += not priced
        elapsed = time.monotonic() - self._started
        fields: dict[str, Any] = {"cost": _cost_text(self._cost, self._unpriced), "failed": self._failed}
        fields["rate"] = self._done / elapsed if elapsed > 0 else 0.0
        self._bar.update(self._task, advance=1, **fields)

    def close(self) -> None:
        self._bar.stop()


def make_progress(mode: Mode, description: str, total: int) -> Progress:
    """A progress display for ``total`` calls; ``auto`` picks rich on a terminal, plain lines otherwise."""
    if mode == "quiet" or total == 0:
        return _Quiet()
    if mode == "auto":
        mode = "rich" if sys.stderr.isatty() else "plain"
    if mode == "rich":
        return _Rich(description, total)
    return _Plain(description, total)
