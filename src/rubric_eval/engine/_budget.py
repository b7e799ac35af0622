"""The ``max_cost_usd`` budget: every call reserves its estimated cost before it starts.

Reservations of calls in flight count against the budget, so the sum never overshoots at high
concurrency; a call that does not fit waits for calls in flight to settle (their real cost
replaces their estimate) and is refused only when nothing is in flight and it still does not fit.
So the amount spent approaches the cap within about one call's cost at any concurrency.
"""

from __future__ import annotations

import asyncio

BUDGET_EXHAUSTED = "budget exhausted"


class Budget:
    """Spending across an engine's runs; `reservations` are per run (their condition is loop-bound)."""

    def __init__(self, limit_usd: float | None) -> None:
        self.limit_usd = limit_usd
        self.spent_usd = 0.0

    def run(self) -> Reservations:
        return Reservations(self)


class Reservations:
    def __init__(self, budget: Budget) -> None:
        self.budget = budget
        self.reserved_usd = 0.0
        self._in_flight = 0
        self._changed = asyncio.Condition()

    def _fits(self, estimate: float) -> bool:
        limit = self.budget.limit_usd
        return limit is None or self.budget.spent_usd + self.reserved_usd + estimate <= limit

    async def reserve(self, estimate: float) -> bool:
        """Claim ``estimate`` for a call about to start; False when it cannot fit the budget."""
        if self.budget.limit_usd is None:
            return True
        async with self._changed:
            await self._changed.wait_for(lambda: self._fits(estimate) or self._in_flight == 0)
            if not self._fits(estimate):
                return False
            self.reserved_usd += estimate
            self._in_flight += 1
            return True

    async def settle(self, estimate: float, cost_usd: float) -> None:
        """A reserved call finished (or failed): replace its estimate with what it cost."""
        self.budget.spent_usd += cost_usd
        if self.budget.limit_usd is None:
            return
        async with self._changed:
            self.reserved_usd -= estimate
            self._in_flight -= 1
            self._changed.notify_all()

    def refusal(self) -> str:
        limit = self.budget.limit_usd or 0.0
        return (
            f"{BUDGET_EXHAUSTED}: not sent, it would pass --max_cost ${limit:.4f} "
            f"(spent ${self.budget.spent_usd:.4f}); rerun with a higher --max_cost to grade the rest"
        )
