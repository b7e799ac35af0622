"""The per-record bookkeeping fields the original wrote: ``<step>_price_per_example`` and friends."""

from __future__ import annotations

import datetime as dt
from typing import Any

from rubric_eval._version import package_version
from rubric_eval.engine import LLMResult, Usage


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


def cached_share_fields(prefix: str, results: list[LLMResult[Any]]) -> dict[str, Any]:
    """For a record graded by several calls (repeats): how many came from the cache and what they
    had cost, so a partly cached record is not counted as money spent now. Empty for one call."""
    if len(results) <= 1:
        return {}
    return {
        f"{prefix}_cached_calls": sum(r.cached for r in results),
        f"{prefix}_cached_price": round(sum(r.cost_usd for r in results if r.cached), 8),
    }
