"""The qualitative part of a report: a model's strengths and weaknesses (written by `steps.summarize`)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

NO_CATEGORY = "(no category)"


class ProCon(BaseModel):
    """Strengths (pro) and weaknesses (con) of a model on a set of instructions."""

    pros: list[str] = Field(default_factory=list)
    cons: list[str] = Field(default_factory=list)


SummaryStatus = Literal["ok", "partial", "failed", "skipped"]


class FeedbackSummary(BaseModel):
    """The qualitative summary of one model: overall and per category, or why there is none."""

    status: SummaryStatus
    reason: str | None = Field(default=None, description="Why the summary was skipped or what failed.")
    summarizer: str | None = None
    overall: ProCon | None = None
    per_category: dict[str, ProCon] = Field(default_factory=dict)
    errors: dict[str, str] = Field(default_factory=dict, description="category (or 'overall') -> error")
    n_calls: int = 0
    n_cached: int = 0
    cost_usd: float = 0.0
    n_unpriced_calls: int = Field(default=0, description="Calls whose model has no known price.")

    @classmethod
    def skipped(cls, reason: str) -> FeedbackSummary:
        return cls(status="skipped", reason=reason)
