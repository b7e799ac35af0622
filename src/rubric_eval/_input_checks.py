"""Warnings about an evaluation input that is valid but probably not what the user meant.

Printed by the CLI before any call (for a streamed input: as records are read, shown with the summary),
so a user can stop a run that would be wasted: duplicate ids within one model
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


class InputChecks:
    """The checks of `evaluation_input_warnings`, one record at a time (for inputs read as a stream):
    what they keep is the ids seen and a few record names."""

    def __init__(self, source: str) -> None:
        self.source = source
        self._ids: Counter[tuple[str, str]] = Counter()
        self._clashing: list[str] = []
        self._empty: list[str] = []
        self._n_clashing = self._n_empty = 0

    def add(self, index: int, record: Record) -> None:
        if record.id is not None:
            # Per model: a multi-model file repeats each instruction's id once per model, by design.
            self._ids[(str(record.model), str(record.id))] += 1
        where = f"record {index} (id={record.id})"
        if record.rubric is not None:
            names = Counter(" ".join(c.criterion.casefold().split()) for c in record.rubric.criteria)
            if any(n > 1 for n in names.values()):
                self._n_clashing += 1
                if len(self._clashing) < _MAX_LISTED:
                    self._clashing.append(where)
        if record.output is not None and not record.output.strip():
            self._n_empty += 1
            if len(self._empty) < _MAX_LISTED:
                self._empty.append(where)

    def warnings(self) -> list[str]:
        """One line per kind of problem, naming the records (at most a few)."""
        warnings: list[str] = []
        duplicated = [i if m == "None" else f"{i} ({m})" for (m, i), n in self._ids.items() if n > 1]
        if duplicated:
            warnings.append(
                f"{self.source}: duplicate ids (results cannot be told apart): {_listed(duplicated)}"
            )
        if self._clashing:
            warnings.append(
                f"{self.source}: criteria whose names differ only in case or spacing (the judge's keys may "
                f"be matched to the wrong one; rename them): {_counted(self._clashing, self._n_clashing)}"
            )
        if self._empty:
            warnings.append(
                f"{self.source}: empty answers (graded as given): {_counted(self._empty, self._n_empty)}"
            )
        return warnings


def _counted(first: Sequence[str], total: int) -> str:
    return ", ".join(first) + (f" and {total - len(first)} more" if total > len(first) else "")


def evaluation_input_warnings(records: Sequence[Record], source: str) -> list[str]:
    """One line per kind of problem, naming the records (at most a few)."""
    checks = InputChecks(source)
    for index, record in enumerate(records):
        checks.add(index, record)
    return checks.warnings()
