"""The report's reader: the fields of evaluated records that reports use, one record at a time.

`ReportRecord` declares the `rubric_eval.records.Record` fields a report reads, with the same types and
checks; other fields are skipped unread (an evaluations file's rubrics, instructions and answers are most
of its bytes). `iter_report_records` reads a file one record at a time:

- a file with one record per line (JSONL, or the JSON list `rubric_eval evaluate` writes: ``[``, one
  compact record per line, ``]``) is parsed line by line by pydantic's JSON parser, straight into
  `ReportRecord` (no intermediate dicts);
- anything else (an indented JSON list, a line the fast path cannot vouch for: invalid JSON, ``NaN``,
  a lone surrogate) is read from there on by `rubric_eval._io.iter_records`, so errors and edge cases
  are exactly the general reader's (file, record, field, what was expected).

Rubrics repeat once per model: each distinct rubric is validated once and shared by its records.
"""

from __future__ import annotations

import os
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    SkipValidation,
    ValidationError,
    field_validator,
)

from rubric_eval._io import iter_records, validation_error_to_input_error
from rubric_eval.errors import InputError
from rubric_eval.records import CriterionGrade, JudgeIssues, JudgeSample, PanelEntry, Record, Rubric


class ReportRecord(BaseModel):
    """An evaluated record as the report reads it (a subset of `rubric_eval.records.Record`).

    ``rubric`` is not validated with the record: `iter_report_records` validates each distinct rubric
    once and gives its records the same `Rubric`.
    """

    model_config = ConfigDict(extra="ignore", allow_inf_nan=False)

    instruction: str = Field(min_length=1)
    id: int | str | None = None
    category: str | None = None
    output: str | None = Field(None, validation_alias=AliasChoices("output", "outputs"))
    model: str | None = None
    grades: list[CriterionGrade] | None = None
    feedback_per_criteria: dict[str, str] | None = None
    score_per_criteria: dict[str, float | None] | None = None
    level_per_criteria: dict[str, str | None] | None = None
    score: float | None = None
    fraction_scored: float | None = None
    evaluator: str | None = None
    judge_issues: JudgeIssues | None = None
    dataset_name: str | None = None
    output_error: str | None = None
    evaluation_price_per_example: float | None = None
    evaluation_cost_known: bool | None = None
    evaluation_time_per_example: float | None = None
    evaluation_date: str | None = None
    evaluation_version: str | None = None
    evaluation_cached: bool | None = None
    evaluation_input_tokens: int | None = None
    evaluation_output_tokens: int | None = None
    evaluation_calls: int | None = None
    evaluation_cached_calls: int | None = None
    evaluation_failed_calls: int | None = None
    evaluation_unpriced_calls: int | None = None
    evaluation_cached_price: float | None = None
    evaluation_run_id: str | None = None
    judge_samples: list[JudgeSample] | None = None
    judge_aggregate: str | None = None
    judge_panel: list[PanelEntry] | None = None
    escalated: PanelEntry | None = None
    weight: Any = Field(1.0, description="The instruction's weight (checked by the report).")
    rubric: Annotated[Rubric | None, SkipValidation] = None

    @field_validator("instruction")
    @classmethod
    def _non_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("instruction is blank")
        return value

    @classmethod
    def of(cls, record: Record) -> ReportRecord:
        """The report's fields of a record already in memory (no validation again)."""
        values = {name: getattr(record, name) for name in cls.model_fields if name != "weight"}
        values["weight"] = (record.model_extra or {}).get("weight", 1.0)
        fields_set = record.model_fields_set & cls.model_fields.keys()
        if record.model_extra and "weight" in record.model_extra:
            fields_set = fields_set | {"weight"}
        return cls.model_construct(_fields_set=fields_set, **values)


_SCALARS = (int, float, str, bool, type(None))


def _content(raw: Any) -> tuple[object, ...] | None:
    """A hashable key for a raw rubric in the list format or the seed's dict-of-dicts, or None (then it
    is validated as is: unusual, or not a valid rubric, whose validation says why).

    Types are part of the key (``1``, ``1.0`` and ``true`` are equal in Python, not to the validator).
    """
    if type(raw) is dict:  # the seed README's {criterion: {level: description}}
        rows = [(name, _levels(levels)) for name, levels in raw.items()]
        return None if any(levels is None for _, levels in rows) else ("seed", *rows)
    if type(raw) is not list:
        return None
    out: list[object] = ["list"]
    for row in raw:
        if type(row) is not dict or len(row) != 3:
            return None
        levels, weight, name = (
            _levels(row.get("performance_to_description")),
            row.get("weight"),
            row.get("criterion"),
        )
        if levels is None or type(name) is not str or type(weight) not in _SCALARS:
            return None
        out.append((name, type(weight), weight, levels))
    return tuple(out)


def _levels(raw: Any) -> tuple[tuple[str, str], ...] | None:
    if type(raw) is not dict or not all(type(v) is str for v in raw.values()):
        return None
    return tuple(raw.items())


class _Rubrics:
    """Each distinct rubric validated once; its records share the `Rubric`."""

    def __init__(self) -> None:
        self.known: dict[tuple[object, ...], Rubric] = {}

    def resolve(self, record: ReportRecord, *, path: str, index: int) -> ReportRecord:
        """The record with its raw rubric replaced by the validated `Rubric` (shared)."""
        value: Any = record.rubric
        if value is None:
            return record
        key = _content(value)
        rubric = self.known.get(key) if key is not None else None
        if rubric is None:
            try:
                rubric = Rubric.model_validate(value)
            except ValidationError as exc:
                # Same message as the whole record's validation: field "rubric...".
                error = validation_error_to_input_error(exc, path=path, index=index, record_id=record.id)
                field = "rubric" + (f".{error.field}" if error.field else "")
                raise InputError(
                    error.detail, path=path, index=index, record_id=record.id, field=field
                ) from None
            if key is not None:
                self.known[key] = rubric
        record.__dict__["rubric"] = rubric  # no validation again, fields set unchanged
        return record


def _lines(path: Path) -> Generator[bytes, None, None] | None:
    """The record lines of a one-record-per-line file, or None when it is laid out otherwise. A line that
    breaks the layout ends the iteration with `_Layout`."""
    try:
        handle = path.open("rb")
    except OSError:
        return None  # the general reader says why
    jsonl = path.suffix.lower() in {".jsonl", ".ndjson"}

    def lines() -> Generator[bytes, None, None]:
        with handle:
            if jsonl:
                for line in handle:
                    if line.strip():
                        yield line
                return
            first = handle.readline()
            while first and not first.strip():
                first = handle.readline()
            if first.strip() != b"[":
                raise _Layout
            more = True  # after "[" or a record ending with ",", a record must follow
            for line in handle:
                line = line.strip()
                if not line:
                    continue
                if line == b"]":
                    if more or not _only_space(handle):
                        raise _Layout  # "[]", "[..., ]" or more after the list: the general reader's call
                    return
                if not more:
                    raise _Layout
                more = line.endswith(b",")
                yield line[:-1] if more else line
            raise _Layout  # no closing "]"

    return lines()


def _only_space(handle: Any) -> bool:
    return all(not line.strip() for line in handle)


class _Layout(Exception):
    """The file is not one record per line from here on."""


def iter_report_records(path: str | os.PathLike[str]) -> Iterator[ReportRecord]:
    """The records of an evaluations file (JSON list or JSONL) as `ReportRecord`, one at a time.

    Errors are the general reader's (`rubric_eval._io.iter_records`): the file, the record, the field.
    """
    p = Path(path)
    source = str(p)
    rubrics = _Rubrics()
    done = 0
    lines = _lines(p)
    if lines is not None:
        try:
            for line in lines:
                if b"NaN" in line or b"Infinity" in line:
                    break  # maybe a constant JSON does not have, which pydantic accepts in a skipped field
                try:
                    record = ReportRecord.model_validate_json(line)
                except ValidationError:
                    break  # not JSON, or a bad record: the general reader says which, with the record's id
                yield rubrics.resolve(record, path=source, index=done)
                done += 1
            else:
                return
        except _Layout:
            pass
        finally:
            lines.close()  # the file, at once (not when the generator is collected)
    # The general reader, from the first record not yet read.
    for index, record in enumerate(iter_records(p, model=ReportRecord)):
        if index >= done:
            yield rubrics.resolve(record, path=source, index=index)
