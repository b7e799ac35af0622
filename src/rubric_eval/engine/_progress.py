"""Progress for long steps: a rich bar on a terminal, plain log lines otherwise, or nothing.

Honest from the first second: a line as soon as the step starts; answers from the cache are
counted apart from requests; the rate and the ETA come from the request phase only (from the
first request on, not from the start of the process); money spent by this run is shown apart
from the cost of answers found in the cache. Every line fits 80 columns.
"""

from __future__ import annotations

import collections
import sys
import time
from collections.abc import Iterable
from typing import Literal, Protocol

Mode = Literal["auto", "rich", "plain", "quiet"]
WIDTH = 80


class Progress(Protocol):
    def advance(self, *, ok: bool, cost_usd: float, priced: bool = True, cached: bool = False) -> None: ...

    def start_requests(self) -> None: ...

    def set_total(self, total: int) -> None: ...

    def close(self) -> None: ...


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f}s"
    if seconds < 7200:
        return f"{seconds / 60:.1f}min"
    return f"{seconds / 3600:.1f}h"


def _money(usd: float) -> str:
    return f"${usd:.4f}" if usd < 100 else f"${usd:,.2f}"


class Tally:
    """The counts behind every display; ``total`` is None until known (a stream still being read)."""

    def __init__(self, total: int | None) -> None:
        self.total = total
        self.done = self.failed = self.cached = self.unpriced = 0
        self.spent_usd = self.cached_usd = 0.0
        self.started = time.monotonic()
        self.requests_started: float | None = None
        self.last_answer: float | None = None
        # When the latest answers from the API came: the rate is measured over them, so it is the
        # current rate (not diluted by start-up, and not made up from the first few answers).
        self._recent: collections.deque[float] = collections.deque(maxlen=512)
        self.final = False

    def advance(self, *, ok: bool, cost_usd: float, priced: bool, cached: bool) -> None:
        self.done += 1
        self.failed += not ok
        self.unpriced += not priced
        if cached:
            self.cached += 1
            self.cached_usd += cost_usd
        else:
            self.spent_usd += cost_usd
            self.last_answer = time.monotonic()
            self._recent.append(self.last_answer)

    def rate(self) -> float | None:
        """Answers per second from the API (cache hits excluded): over the latest answers while
        running, over the whole request phase at the end; None until there is enough to measure."""
        answered = self.done - self.cached
        if self.final:
            if self.requests_started is None or self.last_answer is None:
                return None
            span = self.last_answer - self.requests_started
            return answered / span if span > 0 else None
        recent = self._recent
        if len(recent) < 8:
            return None
        span = time.monotonic() - recent[0]
        return len(recent) / span if span >= 0.5 else None

    def eta(self) -> str:
        if self.total is None:
            return "?"
        left = self.total - self.done
        if left <= 0:
            return "0s"
        rate = self.rate()
        return _duration(left / rate) if rate else "?"

    def counts(self) -> str:
        total = "?" if self.total is None else str(self.total)
        percent = f" ({100 * self.done // self.total}%)" if self.total else ""
        return f"{self.done}/{total} done{percent}, {self.failed} failed, {self.cached} cached"

    def speed(self) -> str:
        rate = self.rate()
        if rate is None:
            phase = "no requests yet" if self.requests_started is None else "measuring the rate"
            return f"{phase}, {_duration(time.monotonic() - self.started)} in"
        if self.final:
            return f"{rate:.1f}/s over the requests, {_duration(time.monotonic() - self.started)} in all"
        return f"{rate:.1f}/s, ETA {self.eta()}"

    def money(self) -> str:
        text = f"{_money(self.spent_usd)} spent"
        if self.unpriced:
            text += f" + unknown ({self.unpriced} unpriced)"
        if self.cached:
            text += f", {_money(self.cached_usd)} cached"
        return text


def _fit(description: str, rest: str) -> str:
    """``description: rest`` in 80 columns, shortening only the description."""
    room = WIDTH - len(rest) - 2
    if len(description) > room:
        description = description[: max(room - 1, 0)] + "…"
    return f"{description}: {rest}"


def plain_lines(description: str, tally: Tally) -> list[str]:
    """One status line, or two when one would pass 80 columns."""
    head = _fit(description, tally.counts())
    tail = f"{tally.speed()}; {tally.money()}"
    one = f"{head}; {tail}"
    return [one] if len(one) <= WIDTH else [head, "  " + tail]


class _Quiet:
    def advance(self, *, ok: bool, cost_usd: float, priced: bool = True, cached: bool = False) -> None:
        return None

    def start_requests(self) -> None:
        return None

    def set_total(self, total: int) -> None:
        return None

    def close(self) -> None:
        return None


class _Plain:
    """Lines to stderr: one at the start, one after a second, then at most every ``every_s``."""

    def __init__(self, description: str, total: int | None, every_s: float = 10.0) -> None:
        self.description, self.every_s = description, every_s
        self.tally = Tally(total)
        self.next_at = self.tally.started + 1.0
        calls = "calls (counting as they are read)" if total is None else f"{total} calls"
        self._print([_fit(description, calls)])

    @staticmethod
    def _print(lines: list[str]) -> None:
        print("\n".join(lines), file=sys.stderr, flush=True)

    def start_requests(self) -> None:
        self.tally.requests_started = self.tally.requests_started or time.monotonic()

    def set_total(self, total: int) -> None:
        self.tally.total = total

    def advance(self, *, ok: bool, cost_usd: float, priced: bool = True, cached: bool = False) -> None:
        self.tally.advance(ok=ok, cost_usd=cost_usd, priced=priced, cached=cached)
        now = time.monotonic()
        if now >= self.next_at and self.tally.done != self.tally.total:
            self.next_at = now + self.every_s
            self._print(plain_lines(self.description, self.tally))

    def close(self) -> None:
        self.tally.final = True
        self._print(plain_lines(self.description, self.tally))


class _Rich:
    """A bar on one line and the counts on the next, so nothing is cut at 80 columns."""

    def __init__(self, description: str, total: int | None) -> None:
        from rich.console import Console, RenderableType
        from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
        from rich.progress import Progress as RichProgress
        from rich.text import Text

        tally = self.tally = Tally(total)

        class TwoLines(RichProgress):
            def get_renderables(self) -> Iterable[RenderableType]:
                yield self.make_tasks_table(self.tasks)
                for line in (f"  {tally.counts()}", f"  {tally.speed()}; {tally.money()}"):
                    yield Text(line, no_wrap=True, overflow="ellipsis")

        self._bar = TwoLines(
            TextColumn("[bold]{task.description}"),
            BarColumn(bar_width=24),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            transient=False,
        )
        self._task = self._bar.add_task(description[:30], total=total)
        self._bar.start()

    def start_requests(self) -> None:
        self.tally.requests_started = self.tally.requests_started or time.monotonic()

    def set_total(self, total: int) -> None:
        self.tally.total = total
        self._bar.update(self._task, total=total)

    def advance(self, *, ok: bool, cost_usd: float, priced: bool = True, cached: bool = False) -> None:
        self.tally.advance(ok=ok, cost_usd=cost_usd, priced=priced, cached=cached)
        self._bar.update(self._task, advance=1)

    def close(self) -> None:
        self.tally.final = True
        self._bar.refresh()
        self._bar.stop()


def make_progress(mode: Mode, description: str, total: int | None) -> Progress:
    """A progress display for ``total`` calls (None: not known yet, see `Progress.set_total`);
    ``auto`` picks rich on a terminal, plain lines otherwise."""
    if mode == "quiet" or total == 0:
        return _Quiet()
    if mode == "auto":
        mode = "rich" if sys.stderr.isatty() else "plain"
    if mode == "rich":
        return _Rich(description, total)
    return _Plain(description, total)
