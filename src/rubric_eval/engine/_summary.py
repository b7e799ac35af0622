"""The run summary every LLM command prints: calls, cache hits, batches, tokens and cost."""

from __future__ import annotations

from rubric_eval.engine._engine import RunTotals
from rubric_eval.engine._plan import PlanCheck


def _cached(totals: RunTotals) -> str:
    if not totals.cached_input_tokens:
        return ""
    share = totals.cached_input_tokens / totals.input_tokens if totals.input_tokens else 0.0
    return f" ({totals.cached_input_tokens:,} from the provider's prompt cache, {share:.0%})"


def totals_lines(totals: RunTotals, plan_check: PlanCheck | None = None) -> list[str]:
    """One line of what an engine did, plus the batch saving when batches answered any call."""
    if not totals.calls and not totals.budget_exhausted:
        return []
    live = totals.calls - totals.cache_hits - totals.batch_calls
    via = (
        f"{totals.batch_calls} through provider batches at half price, {live} live"
        if totals.batch_calls
        else ""
    )
    line = (
        f"LLM calls: {totals.calls} ({via + ', ' if via else ''}{totals.cache_hits} from cache, "
        f"{totals.failures} failed); tokens {totals.input_tokens:,} in{_cached(totals)}, "
        f"{totals.output_tokens:,} out; "
        f"cost ${totals.cost_usd:.4f}"
    )
    if totals.batch_calls:
        line += f" (at live prices ${totals.cost_at_live_price_usd:.4f})"
    if totals.unpriced_calls:
        line += f" + unknown ({totals.unpriced_calls} calls to models without a known price)"
    if totals.budget_exhausted:
        line += f"; {totals.budget_exhausted} calls not sent (--max_cost reached)"
    return [line, *plan_check.lines()] if plan_check is not None else [line]
