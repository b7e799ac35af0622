"""The per-record bookkeeping fields the original wrote: ``<step>_price_per_example`` and friends."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from rubric_eval._version import package_version
from rubric_eval.engine import BUDGET_EXHAUSTED, LLMResult, Usage
from rubric_eval.errors import INTERRUPTED


def bookkeeping_fields(prefix: str, result: LLMResult[Any]) -> dict[str, Any]:
    """``<prefix>_price_per_example`` (None when the model's price is unknown), ``_time_per_example``,
    ``_cost_known``, ``_date``, ``_version``, tokens, cache hit, and ``_params``: the sampling
    parameters sent (the config's plus the provider's defaults), however the config was spelled."""
    params = {f"{prefix}_params": dict(result.params)} if result.params else {}
    return {
        f"{prefix}_price_per_example": round(result.cost_usd, 8) if result.cost_known else None,
        f"{prefix}_cost_known": result.cost_known,
        f"{prefix}_time_per_example": round(result.latency_s, 4),
        f"{prefix}_date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        f"{prefix}_version": package_version(),
        f"{prefix}_input_tokens": result.usage.input_tokens,
        f"{prefix}_output_tokens": result.usage.output_tokens,
        f"{prefix}_cached_input_tokens": result.usage.cached_input_tokens,
        f"{prefix}_cached": result.cached,
        **params,
    }


def sum_results(results: list[LLMResult[Any]]) -> LLMResult[Any]:
    """One result standing for several calls about the same record (repeated or ensemble judging):
    costs, latencies, tokens and attempts add up; cached only when every call was."""
    if len(results) == 1:
        return results[0]
    usage = Usage()
    for result in results:
        usage = usage + result.usage
    return LLMResult(
        ok=any(r.ok for r in results),
        usage=usage,
        cost_usd=sum(r.cost_usd for r in results),
        cost_known=all(r.cost_known for r in results),
        latency_s=sum(r.latency_s for r in results),
        attempts=sum(r.attempts for r in results),
        cached=all(r.cached for r in results),
    )


def call_count_fields(
    prefix: str, results: Sequence[LLMResult[Any]], failed: Sequence[bool]
) -> dict[str, Any]:
    """For a record graded by several calls (repeats; or one call of a stopped record): how many were
    made (a call a budget stop or an interrupt kept back was not), came from the cache, ``failed``
    (per result: a call that gave no usable answer), went to a model with no known price, and what
    the cached ones had cost, so a partly cached record is not counted as money spent now."""
    made = [(r, f) for r, f in zip(results, failed, strict=True) if not not_sent(r)]
    return {
        f"{prefix}_calls": len(made),
        f"{prefix}_cached_calls": sum(r.cached for r, _ in made),
        f"{prefix}_failed_calls": sum(f for _, f in made),
        f"{prefix}_unpriced_calls": sum(not r.cost_known for r, _ in made),
        f"{prefix}_cached_price": round(sum(r.cost_usd for r, _ in made if r.cached), 8),
    }


def not_sent(result: LLMResult[Any]) -> bool:
    """A result standing for a call that was never sent: a budget stop or an interrupt kept it back."""
    error = result.error or ""
    return error.startswith(BUDGET_EXHAUSTED) or error.startswith(INTERRUPTED)
