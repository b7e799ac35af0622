"""Reading the files of a meta-evaluation: human labels and per-model scores (JSON, JSONL or CSV).

Human labels, one row per (answer, criterion, annotator)::

    id,instruction,model,criterion,level,annotator
    17,,gpt-4o,Correctness,good,alice

``id`` (the record's id) or ``instruction`` (its exact text) names the instruction; ``model`` names
the answer (optional when one model answered it); ``annotator`` defaults to "human".

Per-model scores (a reference ranking such as Arena scores, or our own scores): a CSV with the
columns ``model`` and ``score`` (or ``rating``, ``elo``, ``arena_score``), a JSON/JSONL list of such
objects, a JSON object ``{model: score}``, or a leaderboard file written by rubric_eval.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from rubric_eval._io import iter_jsonl
from rubric_eval.errors import InputError

SCORE_COLUMNS = ("score", "rating", "elo", "arena_score")
M = TypeVar("M", bound=BaseModel)


class HumanLabel(BaseModel):
    """One expert's level for one criterion of one answer."""

    model_config = ConfigDict(extra="ignore")

    id: str | None = Field(default=None, description="The record's id (matched as text).")
    instruction: str | None = Field(default=None, description="The instruction's exact text, when no id.")
    model: str | None = Field(default=None, description="The model that wrote the answer.")
    criterion: str = Field(min_length=1)
    level: str = Field(min_length=1)
    annotator: str = "human"

    @field_validator("id", "instruction", "model", "annotator", mode="before")
    @classmethod
    def _text(cls, value: Any) -> Any:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise ValueError(f"expected text or a number, got {type(value).__name__}")
        if isinstance(value, float) and value.is_integer():
            return str(int(value))  # an id written as 17.0 by a spreadsheet
        return str(value).strip()


def _rows(path: Path) -> list[dict[str, Any]]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputError("file not found", path=str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read file: {exc}", path=str(path)) from None
    suffix = path.suffix.lower()
    if suffix in {".csv", ".tsv"}:
        reader = csv.DictReader(io.StringIO(text), delimiter="\t" if suffix == ".tsv" else ",")
        return [{k.strip(): v for k, v in row.items() if k is not None} for row in reader]
    if suffix in {".jsonl", ".ndjson"}:
        return list(iter_jsonl(text.splitlines(), str(path)))
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(
            f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg} (expected JSON, JSONL or CSV)",
            path=str(path),
        ) from None
    if isinstance(data, dict) and isinstance(data.get("rows"), list):
        return list(data["rows"])  # a rubric_eval leaderboard file
    if isinstance(data, dict) and all(isinstance(v, (int, float)) for v in data.values()):
        return [{"model": k, "score": v} for k, v in data.items()]
    if not isinstance(data, list):
        raise InputError(f"expected a JSON list of objects, got {type(data).__name__}", path=str(path))
    return data


def read_labels(path: str | os.PathLike[str]) -> list[HumanLabel]:
    """Read human labels; a bad row raises `InputError` naming the file, row and field."""
    p = Path(path)
    labels = []
    for index, row in enumerate(_rows(p)):
        if not isinstance(row, dict):
            raise InputError(f"expected an object, got {type(row).__name__}", path=str(p), index=index)
        try:
            label = HumanLabel.model_validate(row)
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(x) for x in first["loc"])
            message = "required field is missing" if first["type"] == "missing" else first["msg"]
            raise InputError(message, path=str(p), index=index, field=field) from None
        if label.id is None and label.instruction is None:
            raise InputError(
                "a label needs 'id' (the record's id) or 'instruction' (its text)", path=str(p), index=index
            )
        labels.append(label)
    if not labels:
        raise InputError("no labels in the file", path=str(p))
    return labels


def read_model_scores(path: str | os.PathLike[str]) -> dict[str, float]:
    """Read ``model -> score`` (a reference ranking or per-model scores); duplicates are an error."""
    p = Path(path)
    scores: dict[str, float] = {}
    for index, row in enumerate(_rows(p)):
        if not isinstance(row, dict):
            raise InputError(f"expected an object, got {type(row).__name__}", path=str(p), index=index)
        model = row.get("model")
        if not isinstance(model, str) or not model.strip():
            raise InputError("expected a model name", path=str(p), index=index, field="model")
        column = next((c for c in SCORE_COLUMNS if c in row), None)
        if column is None:
            raise InputError(
                f"expected a score column (one of {', '.join(SCORE_COLUMNS)})", path=str(p), index=index
            )
        raw = row[column]
        try:
            value = float(raw) if not isinstance(raw, bool) and raw not in (None, "") else math.nan
        except (TypeError, ValueError):
            value = math.nan
        if not math.isfinite(value):
            raise InputError(f"expected a number, got {raw!r}", path=str(p), index=index, field=column)
        name = model.strip()
        if name in scores:
            raise InputError(f"model {name!r} appears twice", path=str(p), index=index, field="model")
        scores[name] = value
    if not scores:
        raise InputError("no model scores in the file", path=str(p))
    return scores


def read_json_model(path: str | os.PathLike[str], model: type[M], what: str) -> M:
    """Read a JSON file written by rubric_eval (an audit, a meta-evaluation) into its model."""
    p = Path(path)
    try:
        return model.model_validate_json(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError("file not found", path=str(p)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read file: {exc}", path=str(p)) from None
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(x) for x in first["loc"]) or None
        raise InputError(
            f"not {what} written by rubric_eval: {first['msg']}", path=str(p), field=field
        ) from None
