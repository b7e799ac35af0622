"""Rubric brainstorming: from an instruction and optional expert notes, an LLM drafts weighted criteria.

Adds ``brainstormed_rubric`` (3-8 criteria with weights summing to 100 and checklists), its provenance
and bookkeeping. A brainstorm an expert wrote or edited is kept unless ``overwrite``.
"""

from __future__ import annotations

from typing import Any, cast

from pydantic import BaseModel, ConfigDict, Field, model_validator

from rubric_eval._api_edge import RecordsLike, to_records
from rubric_eval._config import AnnotatorConfig, resolve_config
from rubric_eval.engine import Engine, LLMCall
from rubric_eval.errors import RubricsInterrupted
from rubric_eval.provenance import llm_provenance, provenance_field, refreshed_provenance
from rubric_eval.records import (
    WEIGHT_TOLERANCE,
    BrainstormCriterion,
    BrainstormedRubric,
    Record,
    weights_to_100,
)
from rubric_eval.steps._common import (
    StepSummary,
    build_call,
    error_field,
    failed_record,
    result_fields,
    run_calls_until_stopped,
    with_fields,
)

FIELD = "brainstormed_rubric"
MIN_CRITERIA = 3
MAX_CRITERIA = 8


class BrainstormAnswerCriterion(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # No minLength: OpenAI's strict mode rejects it; blank names are caught by the validator below.
    criterion: str = Field(description="Short name of what is evaluated for this instruction.")
    weight: float = Field(gt=0, description="Importance in percent; the weights of all criteria sum to 100.")
    checklist: list[str] = Field(
        min_length=1,
        description="Concrete things a grader checks: required content and mistakes to penalise.",
    )


class BrainstormAnswer(BaseModel):
    """The brainstormer's answer: 3-8 instruction-specific criteria with unique names."""

    model_config = ConfigDict(extra="forbid")

    criteria: list[BrainstormAnswerCriterion] = Field(min_length=MIN_CRITERIA, max_length=MAX_CRITERIA)

    @model_validator(mode="after")
    def _names_and_checklists(self) -> BrainstormAnswer:
        seen: set[str] = set()
        for row in self.criteria:
            key = row.criterion.strip().casefold()
            if not key:
                raise ValueError("criterion names must not be blank")
            if key in seen:
                raise ValueError(f"criterion names must be unique; {row.criterion!r} appears twice")
            if not any(item.strip() for item in row.checklist):
                raise ValueError(f"criterion {row.criterion!r} has an empty checklist")
            seen.add(key)
        return self


def to_brainstormed_rubric(answer: BrainstormAnswer) -> tuple[BrainstormedRubric, str | None]:
    """The answer as a `BrainstormedRubric` with weights summing to 100, and a warning if they did not."""
    total = sum(row.weight for row in answer.criteria)
    warning = None
    if abs(total - 100.0) > WEIGHT_TOLERANCE:
        warning = f"brainstormed weights summed to {total:g}; normalised to 100"
    # rounded: readable for the experts who edit them
    weights = weights_to_100([row.weight for row in answer.criteria], tolerance=WEIGHT_TOLERANCE, ndigits=2)
    rows = [
        BrainstormCriterion(
            criterion=row.criterion.strip(),
            weight=weight,
            checklist=[item.strip() for item in row.checklist if item.strip()],
        )
        for row, weight in zip(answer.criteria, weights, strict=True)
    ]
    return BrainstormedRubric(rows), warning


def brainstorm_call(record: Record, config: AnnotatorConfig) -> LLMCall[BrainstormAnswer]:
    notes = record.useful_info_to_eval_instruction
    variables: dict[str, Any] = {
        "instruction": record.instruction,
        "notes": notes if notes and notes.strip() else None,
        "min_criteria": MIN_CRITERIA,
        "max_criteria": MAX_CRITERIA,
    }
    return build_call(config, BrainstormAnswer, variables, label=f"brainstorm id={record.record_id}")


def run_brainstorm(
    records: list[Record], *, config: AnnotatorConfig, engine: Engine | None, overwrite: bool
) -> tuple[list[Record], StepSummary]:
    """Brainstorm the records that need it; keep (and attribute) the others. Ctrl-C / SIGTERM raises
    `RubricsInterrupted` with every record (the unfinished ones with an ``interrupted`` error)."""
    summary = StepSummary(step="brainstorm_rubrics", n_records=len(records))
    todo = [i for i, r in enumerate(records) if overwrite or r.brainstormed_rubric is None]
    for i in todo:
        if records[i].brainstormed_rubric is not None:
            source = refreshed_provenance(records[i], FIELD)
            if source is not None and source.source != "llm":
                summary.warn(i, records[i], f"overwriting a brainstorm written by {source.source}")
    calls = [brainstorm_call(records[i], config) for i in todo]
    results, stopped = run_calls_until_stopped(engine, calls, description="brainstorm")
    out = list(records)
    for i, result in zip(todo, results, strict=True):
        summary.add_result(result)
        record = records[i]
        if not result.ok:
            out[i] = failed_record(record, FIELD, result, summary, i)
            continue
        brainstorm, warning = to_brainstormed_rubric(cast(BrainstormAnswer, result.value))
        if warning:
            summary.warn(i, record, warning)
        summary.generated += 1
        updates = {
            FIELD: brainstorm,
            provenance_field(FIELD): llm_provenance(brainstorm, config=config.name),
            **result_fields(FIELD, config, "brainstormer", result),
        }
        out[i] = with_fields(record, updates, drop=[error_field(FIELD)])
    done = set(todo)
    for i, record in enumerate(records):
        if i in done or record.brainstormed_rubric is None:
            continue
        provenance = refreshed_provenance(record, FIELD)
        assert provenance is not None  # the field is present
        summary.kept[provenance.source] += 1
        total = sum(row.weight for row in record.brainstormed_rubric.root)
        if abs(total - 100.0) > WEIGHT_TOLERANCE:
            summary.warn(i, record, f"brainstormed weights sum to {total:g}; the rubric will normalise them")
        out[i] = with_fields(record, {provenance_field(FIELD): provenance})
    if stopped:  # Ctrl-C / SIGTERM: the brainstorms so far, the rest with an "interrupted" error
        raise RubricsInterrupted(out, [summary])
    return out, summary


def brainstorm_rubrics(
    records: RecordsLike,
    *,
    brainstormer: str | AnnotatorConfig | None = None,
    engine: Engine | None = None,
    overwrite: bool = False,
) -> Any:
    """Add a ``brainstormed_rubric`` (criteria, weights, checklists) to each record that lacks one.

    Records come as a list of dicts, of `Record`s, or a DataFrame, and are returned in the same kind.
    Brainstorms written or edited by experts are kept unless ``overwrite``. A failed call leaves the
    record without a brainstorm and sets ``brainstormed_rubric_error``.
    """
    parsed, convert_back = to_records(records)
    config = resolve_config("brainstormer", brainstormer)
    out, summary = run_brainstorm(parsed, config=config, engine=engine, overwrite=overwrite)
    summary.log()
    return convert_back(out)
