"""The Python API's edge: accept records as models, dicts or a pandas DataFrame; return the same kind."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from rubric_eval._io import parse_records
from rubric_eval.records import Record

RecordsLike = Any  # Sequence[Record] | Sequence[dict[str, Any]] | pandas.DataFrame


def to_records(
    data: RecordsLike, *, source: str = "records"
) -> tuple[list[Record], Callable[[list[Record]], Any]]:
    """Validate input records; return them and a function that converts results back to the input's kind."""
    if hasattr(data, "to_dict") and hasattr(data, "columns"):
        import pandas as pd  # only reached when the caller already has pandas

        raw = [{k: v for k, v in row.items() if not _is_missing(v)} for row in data.to_dict(orient="records")]
        return parse_records(raw, path=source), lambda out: pd.DataFrame([r.dump() for r in out])
    if isinstance(data, (str, bytes, os.PathLike, dict, Record)):
        # list() of a path or a record iterates its characters or keys: "record 0: ... got str".
        from rubric_eval.errors import InputError

        what = (
            "one record (pass a list of records)"
            if isinstance(data, (dict, Record))
            else ("a path (read the file with rubric_eval.read_records(path) and pass the records)")
        )
        raise InputError(
            f"expected a list of records (dicts or Records) or a DataFrame, got {what}", path=source
        )
    items = list(data)
    if all(isinstance(item, Record) for item in items):
        return list(items), lambda out: out
    if any(not isinstance(item, dict) for item in items):
        bad = next(i for i, item in enumerate(items) if not isinstance(item, (dict, Record)))
        from rubric_eval.errors import InputError

        raise InputError(
            f"expected a dict or Record, got {type(items[bad]).__name__}", path=source, index=bad
        )
    return parse_records(items, path=source), lambda out: [r.dump() for r in out]


def _is_missing(value: Any) -> bool:
    # DataFrames fill absent fields with NaN/None; a missing field must stay missing.
    if value is None:
        return True
    try:
        return bool(value != value)  # NaN
    except (TypeError, ValueError):
        return False
