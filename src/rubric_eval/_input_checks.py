"""Warnings about an evaluation input that is valid but probably not what the user meant.

Printed by the CLI before any call, so a user can stop a run that would be wasted: duplicate ids
(results cannot be told apart), criteria whose names differ only in case or spacing (the judge's
answer keys cannot be matched to one of them reliably), and empty answers (graded, but rarely meant).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from rubric_eval.records import Record

_MAX_LISTED = 5


def _listed(items: Sequence[str]) -> str:
    shown = ", ".join(items[:_MAX_LISTED])
    return shown + (f" and {len(items) - _MAX_LISTED} more" if len(items) > _MAX_LISTED else "")


def evaluation_input_warnings(records: Sequence[Record], source: str) -> list[str]:
    """One line per kind of problem, naming the records (at most a few)."""
    warnings: list[str] = []
    ids = Counter(str(r.id) for r in records if r.id is not None)
    duplicated = [i for i, n in ids.items() if n > 1]
    if duplicated:
        warnings.append(f"{source}: duplicate ids (results cannot be told apart): {_listed(duplicated)}")
    clashing: list[str] = []
    empty: list[str] = []
    for index, record in enumerate(records):
        where = f"record {index} (id={record.id})"
        if record.rubric is not None:
            names = Counter(" ".join(c.criterion.casefold().split()) for c in record.rubric.criteria)
            if any(n > 1 for n in names.values()):
                clashing.append(where)
        if record.output is not None and not record.output.strip():
            empty.append(where)
    if clashing:
        warnings.append(
            f"{source}: criteria whose names differ only in case or spacing (the judge's keys may be "
            f"matched to the wrong one; rename them): {_listed(clashing)}"
        )
    if empty:
        warnings.append(f"{source}: empty answers (graded as given): {_listed(empty)}")
    return warnings
