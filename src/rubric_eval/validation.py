"""Check a record file and summarise it: every problem found, not just the first."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from rubric_eval._io import validation_error_to_input_error
from rubric_eval.errors import InputError
from rubric_eval.records import WEIGHT_TOLERANCE, Record


class Problem(BaseModel):
    """One thing wrong with one record."""

    index: int | None
    record_id: str | None
    field: str | None
    message: str
    severity: str = "error"

    def __str__(self) -> str:
        where = []
        if self.index is not None:
            where.append(f"record {self.index}" + (f" (id={self.record_id})" if self.record_id else ""))
        if self.field:
            where.append(f"field '{self.field}'")
        return f"{', '.join(where)}: {self.message}" if where else self.message


class DatasetSummary(BaseModel):
    """What `rubric_eval validate` reports."""

    path: str | None = None
    n_records: int = 0
    categories: dict[str, int] = Field(default_factory=dict)
    n_with_rubric: int = 0
    n_criteria: int = 0
    criteria_per_instruction: dict[int, int] = Field(default_factory=dict)
    level_sets: dict[str, int] = Field(default_factory=dict)
    weights_not_100: int = 0
    n_with_brainstorm: int = 0
    n_with_output: int = 0
    models: dict[str, int] = Field(default_factory=dict)
    n_evaluated: int = 0
    problems: list[Problem] = Field(default_factory=list)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def ok(self) -> bool:
        return not self.errors


def _has_lone_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _record_checks(record: Record, expected_levels: Sequence[str] | None) -> list[tuple[str, str, str]]:
    """(field, message, severity) for problems pydantic cannot see on its own."""
    found: list[tuple[str, str, str]] = []
    rubric = record.rubric
    if rubric is not None:
        if expected_levels is not None and rubric.levels != list(expected_levels):
            unknown = [lvl for lvl in rubric.levels if lvl not in expected_levels]
            detail = f"unknown level names {unknown}" if unknown else f"levels out of order {rubric.levels}"
            found.append(("rubric", f"{detail}; expected {list(expected_levels)} (best first)", "error"))
        if abs(rubric.total_weight - 100.0) > WEIGHT_TOLERANCE:
            found.append(
                (
                    "rubric",
                    f"weights sum to {rubric.total_weight:g}, not 100; they will be normalised",
                    "warning",
                )
            )
        for grade in record.grades or []:
            if grade.level is not None and grade.level not in rubric.levels:
                found.append(
                    (
                        "grades",
                        f"criterion {grade.criterion!r}: unknown level {grade.level!r}; "
                        f"expected one of {rubric.levels}",
                        "error",
                    )
                )
        for name, level in (record.level_per_criteria or {}).items():
            if level is not None and level not in rubric.levels:
                found.append(
                    (
                        "level_per_criteria",
                        f"criterion {name!r}: unknown level {level!r}; expected one of {rubric.levels}",
                        "error",
                    )
                )
    for name in ("instruction", "output"):
        text = getattr(record, name, None)
        if isinstance(text, str) and not text.isascii() and _has_lone_surrogate(text):
            # Not valid Unicode: graded with U+FFFD in its place, written back as a JSON escape.
            found.append(
                (name, "contains a lone surrogate (invalid Unicode, e.g. a broken decoder)", "warning")
            )
    if record.brainstormed_rubric is not None:
        total = sum(c.weight for c in record.brainstormed_rubric.root)
        if abs(total - 100.0) > WEIGHT_TOLERANCE:
            found.append(("brainstormed_rubric", f"weights sum to {total:g}, not 100", "warning"))
    return found


def validate_records(
    raw: Sequence[dict[str, Any]],
    *,
    path: str | None = None,
    expected_levels: Sequence[str] | None = None,
) -> DatasetSummary:
    """Validate raw records one by one and summarise them."""
    summary = DatasetSummary(path=path, n_records=len(raw))
    categories: Counter[str] = Counter()
    per_instruction: Counter[int] = Counter()
    level_sets: Counter[str] = Counter()
    models: Counter[str] = Counter()
    seen_ids: dict[str, int] = {}
    for index, item in enumerate(raw):
        raw_id = item.get("id")
        try:
            record = Record.model_validate(item)
        except ValidationError as exc:
            err = validation_error_to_input_error(exc, path=None, index=index, record_id=raw_id)
            summary.problems.append(_problem(err))
            continue
        rid = record.record_id if record.id is not None else None
        key = f"{rid}|{record.model}"
        if rid is not None and key in seen_ids:
            summary.problems.append(
                Problem(
                    index=index,
                    record_id=rid,
                    field="id",
                    message=f"duplicate id (also record {seen_ids[key]})",
                    severity="warning",
                )
            )
        elif rid is not None:
            seen_ids[key] = index
        categories[record.category or "(none)"] += 1
        if record.rubric is not None:
            summary.n_with_rubric += 1
            summary.n_criteria += len(record.rubric.criteria)
            per_instruction[len(record.rubric.criteria)] += 1
            level_sets["/".join(record.rubric.levels)] += 1
        summary.n_with_brainstorm += record.brainstormed_rubric is not None
        if record.output is not None:
            summary.n_with_output += 1
            models[record.model or "(unknown)"] += 1
        summary.n_evaluated += record.grades is not None or record.score_per_criteria is not None
        for field, message, severity in _record_checks(record, expected_levels):
            summary.weights_not_100 += field == "rubric" and message.startswith("weights sum")
            summary.problems.append(
                Problem(index=index, record_id=rid, field=field, message=message, severity=severity)
            )
    summary.categories = dict(sorted(categories.items()))
    summary.criteria_per_instruction = dict(sorted(per_instruction.items()))
    summary.level_sets = dict(level_sets.most_common())
    summary.models = dict(models.most_common())
    return summary


def _problem(err: InputError) -> Problem:
    message = err.detail.removeprefix("Value error, ")
    return Problem(
        index=err.index,
        record_id=None if err.record_id is None else str(err.record_id),
        field=err.field,
        message=message,
    )
