"""Strengths and weaknesses of a model, summarised by an LLM from the judge's per-criterion feedback.

Map-reduce within a context budget: each (model, category) group's graded answers are packed into
chunks of at most ``context_tokens`` (estimated as characters / 4), each chunk is summarised, and
partial summaries are merged by further calls until one remains. The overall summary merges the
category summaries. A failed call is reported as such; no summary text is ever invented.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from rubric_eval._config import AnnotatorConfig
from rubric_eval._templates import PromptTemplate, load_template
from rubric_eval.engine import ChatMessage, Engine, LLMCall, LLMResult
from rubric_eval.records import Record, Rubric
from rubric_eval.reporting.scoring import level_scores
from rubric_eval.reporting.summary import NO_CATEGORY, FeedbackSummary, ProCon

if TYPE_CHECKING:
    from rubric_eval.reporting import ReportRecord

DEFAULT_TEMPLATE = "summarize/v1"
DEFAULT_CONTEXT_TOKENS = 12_000
CHARS_PER_TOKEN = 4
_INSTRUCTION_EXCERPT_CHARS = 300
# Room left in the budget for the template's own text.
_TEMPLATE_OVERHEAD_TOKENS = 600


class SummaryAnswer(BaseModel):
    """What the summariser answers."""

    model_config = ConfigDict(extra="forbid")

    strengths: list[str] = Field(description="What the model does well, most important first.")
    weaknesses: list[str] = Field(description="What the model does poorly or misses, most important first.")


def estimate_tokens(text: str) -> int:
    """Token estimate used for the context budget: characters / 4, rounded up."""
    return -(-len(text) // CHARS_PER_TOKEN)


def _truncate(text: str, max_chars: int) -> str:
    marker = " [...truncated]"
    if len(text) <= max_chars:
        return text
    if max_chars <= len(marker):
        return text[:max_chars]
    return text[: max_chars - len(marker)].rstrip() + marker


def pack_chunks(items: Sequence[str], budget_tokens: int, *, min_per_chunk: int = 1) -> list[list[str]]:
    """Greedily pack items, in order, into chunks whose estimated size stays within the budget.

    An item larger than the budget is truncated. ``min_per_chunk`` > 1 forces merging progress
    when even two items exceed the budget.
    """
    max_chars = max(1, budget_tokens) * CHARS_PER_TOKEN
    chunks: list[list[str]] = []
    current: list[str] = []
    size = 0
    for item in items:
        item = _truncate(item, max_chars)
        if current and size + len(item) > max_chars and len(current) >= min_per_chunk:
            chunks.append(current)
            current, size = [], 0
        current.append(item)
        size += len(item)
    if current:
        if chunks and len(current) < min_per_chunk:
            chunks[-1].extend(current)
        else:
            chunks.append(current)
    return chunks


def feedback_item(record: Record | ReportRecord) -> str | None:
    """One graded answer as summariser input: instruction excerpt, score, feedback per scored criterion."""
    grades = [g for g in record.grades or [] if g.status == "scored"]
    if not grades:
        return None
    weights = {c.criterion: c.weight for c in record.rubric.normalized().criteria} if record.rubric else {}
    excerpt = " ".join(record.instruction.split())
    if len(excerpt) > _INSTRUCTION_EXCERPT_CHARS:
        excerpt = excerpt[:_INSTRUCTION_EXCERPT_CHARS].rstrip() + " ..."
    score = "unscored" if record.score is None else f"{record.score:.1f}/10"
    lines = [f"Instruction (excerpt): {excerpt}", f"Instruction score: {score}"]
    for g in grades:
        weight = f", weight {weights[g.criterion]:.0f}%" if g.criterion in weights else ""
        lines.append(f'- Criterion "{g.criterion}"{weight}: level {g.level} = {g.score:g}/10. {g.feedback}')
    return "\n".join(lines)


def _summary_item(summary: ProCon) -> str:
    lines = [
        "Strengths:",
        *(f"- {p}" for p in summary.pros),
        "Weaknesses:",
        *(f"- {c}" for c in summary.cons),
    ]
    return "\n".join(lines)


def scale_text(records: Iterable[Record | ReportRecord]) -> str:
    """How levels map to scores, from the first rubric (e.g. 'excellent = 10, good = 7, ...')."""
    return _scale(next((r.rubric for r in records if r.rubric is not None), None))


def _scale(rubric: Rubric | None) -> str:
    if rubric is None:
        return "best level = 10, worst level = 1, evenly spaced"
    return ", ".join(f"{level} = {score:g}" for level, score in level_scores(rubric.levels).items())


class _Group(BaseModel):
    """Pending work for one summary: its items and whether they are answers or partial summaries."""

    model: str
    category: str | None
    items: list[str]
    mode: Literal["feedback", "merge"]


class _Summarizer:
    def __init__(self, config: AnnotatorConfig, engine: Engine, context_tokens: int, scale: str) -> None:
        self.config = config
        self.engine = engine
        self.template: PromptTemplate = load_template(config.template or DEFAULT_TEMPLATE)
        self.budget = max(1, context_tokens - _TEMPLATE_OVERHEAD_TOKENS)
        self.scale = scale
        # model -> [calls, cached, cost, unpriced calls]
        self.spent: dict[str, list[float]] = {}

    def _call(self, group: _Group, chunk: list[str], mode: str) -> LLMCall[Any]:
        messages = self.template.render(
            mode=mode, model=group.model, category=group.category, scale=self.scale, items=chunk
        )
        return LLMCall(
            config=self.config,
            messages=[ChatMessage.model_validate(m) for m in messages],
            output_type=SummaryAnswer,
            template_key=self.template.version_key,
            label=f"summary {group.model} / {group.category or 'overall'}",
        )

    def reduce(self, groups: dict[Hashable, _Group]) -> dict[Hashable, ProCon | str]:
        """Summarise every group to one ProCon (or an error string), level by level."""
        done: dict[Hashable, ProCon | str] = {}
        pending = dict(groups)
        while pending:
            calls: list[LLMCall[Any]] = []
            owners: list[Hashable] = []
            for key, group in pending.items():
                min_per_chunk = 2 if group.mode == "merge" else 1
                for chunk in pack_chunks(group.items, self.budget, min_per_chunk=min_per_chunk):
                    calls.append(self._call(group, chunk, group.mode))
                    owners.append(key)
            results = self.engine.run(calls, description=f"summarize ({self.config.name})")
            partials: dict[Hashable, list[LLMResult[Any]]] = {}
            for key, result in zip(owners, results, strict=True):
                spent = self.spent.setdefault(pending[key].model, [0, 0, 0.0, 0])
                spent[0] += 1
                spent[1] += result.cached
                spent[2] += result.cost_usd
                spent[3] += not result.cost_known
                partials.setdefault(key, []).append(result)
            next_pending: dict[Hashable, _Group] = {}
            for key, key_results in partials.items():
                failed = [r for r in key_results if not r.ok]
                if failed:
                    done[key] = failed[0].error or "the summariser call failed"
                    continue
                summaries = [_procon(r.value) for r in key_results]
                if len(summaries) == 1:
                    done[key] = summaries[0]
                else:
                    group = pending[key]
                    next_pending[key] = group.model_copy(
                        update={"items": [_summary_item(s) for s in summaries], "mode": "merge"}
                    )
            pending = next_pending
        return done


def distinct_points(points: Sequence[str]) -> list[str]:
    """Non-blank points in order, each once (ignoring case and spacing): a repeated point adds nothing."""
    seen: set[str] = set()
    kept: list[str] = []
    for point in points:
        text = point.strip()
        key = " ".join(text.lower().split())
        if text and key not in seen:
            seen.add(key)
            kept.append(text)
    return kept


def _procon(value: Any) -> ProCon:
    assert isinstance(value, SummaryAnswer)
    return ProCon(pros=distinct_points(value.strengths), cons=distinct_points(value.weaknesses))


def summarize_feedback(
    records: Iterable[Record | ReportRecord],
    *,
    summarizer: AnnotatorConfig,
    engine: Engine | None = None,
    context_tokens: int = DEFAULT_CONTEXT_TOKENS,
) -> dict[str, FeedbackSummary]:
    """Summarise each model's graded records: model name -> `FeedbackSummary`.

    Records are grouped by ``model`` (missing -> ``"unknown model"``) and ``category``; they are read
    once (e.g. streamed from a file: `rubric_eval.reporting.iter_report_records`), keeping only each graded
    answer's summariser input.
    """
    engine = engine or Engine()
    by_model: dict[str, dict[str, list[str]]] = {}
    first_rubric: Rubric | None = None
    for record in records:
        if first_rubric is None:
            first_rubric = record.rubric
        model = record.model or "unknown model"
        item = feedback_item(record)
        categories = by_model.setdefault(model, {})
        if item is not None:
            categories.setdefault(record.category or NO_CATEGORY, []).append(item)
    worker = _Summarizer(summarizer, engine, context_tokens, _scale(first_rubric))
    groups: dict[Hashable, _Group] = {
        (model, category): _Group(
            model=model, category=None if category == NO_CATEGORY else category, items=items, mode="feedback"
        )
        for model, categories in by_model.items()
        for category, items in categories.items()
    }
    per_group = worker.reduce(groups)
    overall_groups: dict[Hashable, _Group] = {}
    for model, categories in by_model.items():
        ok = [per_group[(model, c)] for c in categories if isinstance(per_group[(model, c)], ProCon)]
        if len(categories) > 1 and len(ok) == len(categories):
            items = [_summary_item(s) for s in ok if isinstance(s, ProCon)]
            overall_groups[model] = _Group(model=model, category=None, items=items, mode="merge")
    overall = worker.reduce(overall_groups)
    out: dict[str, FeedbackSummary] = {}
    for model, categories in by_model.items():
        summary = FeedbackSummary(status="ok", summarizer=summarizer.name)
        for category in categories:
            value = per_group[(model, category)]
            if isinstance(value, ProCon):
                summary.per_category[category] = value
            else:
                summary.errors[category] = value
        if not categories:
            summary = FeedbackSummary.skipped("no scored feedback to summarise")
        elif len(categories) == 1:
            summary.overall = next(iter(summary.per_category.values()), None)
        elif isinstance(overall.get(model), ProCon):
            summary.overall = overall[model]  # type: ignore[assignment]  # narrowed by isinstance
        elif model in overall:
            summary.errors["overall"] = str(overall[model])
        else:
            summary.errors["overall"] = "not merged: some category summaries failed"
        if summary.status == "ok" and summary.errors:
            summary.status = "failed" if summary.overall is None and not summary.per_category else "partial"
            summary.reason = "; ".join(f"{k}: {v}" for k, v in summary.errors.items())
        calls, cached, cost, unpriced = worker.spent.get(model, [0, 0, 0.0, 0])
        summary.n_calls, summary.n_cached, summary.cost_usd = int(calls), int(cached), cost
        summary.n_unpriced_calls = int(unpriced)
        out[model] = summary
    return out
