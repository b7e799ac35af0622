"""Exceptions with messages a user can act on: which file, which record, which field, what was expected."""

from __future__ import annotations

from typing import Any

INTERRUPTED = "interrupted"
"""Starts the error of a judge call that Ctrl-C or SIGTERM stopped (run status ``interrupted``)."""


class RubricEvalError(Exception):
    """Base class of every error rubric-eval raises on purpose."""


class InputError(RubricEvalError):
    """Bad input: names the file, the record (index and id) and the field."""

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        index: int | None = None,
        record_id: object = None,
        field: str | None = None,
    ) -> None:
        self.path = path
        self.index = index
        self.record_id = record_id
        self.field = field
        self.detail = message
        super().__init__(self._format())

    def _format(self) -> str:
        where = []
        if self.path is not None:
            where.append(str(self.path))
        if self.index is not None:
            rec = f"record {self.index}"
            if self.record_id is not None:
                rec += f" (id={self.record_id})"
            where.append(rec)
        if self.field:
            where.append(f"field '{self.field}'")
        prefix = ", ".join(where)
        return f"{prefix}: {self.detail}" if prefix else self.detail


class ConfigError(RubricEvalError):
    """A named config, YAML file or `provider/model` string could not be resolved."""


class MissingExtraError(RubricEvalError, ImportError):
    """An optional dependency is not installed; the message names the extra to install."""

    def __init__(self, package: str, extra: str) -> None:
        super().__init__(f"{package!r} is not installed. Install it with: pip install 'rubric-eval[{extra}]'")


class CacheError(RubricEvalError):
    """The LLM cache cannot be used (damaged, not a database, locked too long); names the file and the fix."""


class DryRun(Exception):
    """Raised by an engine in dry-run mode instead of making calls; carries the plan's lines."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines


class EvaluationInterrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM stopped grading: carries every record, the graded ones with their grades and
    the rest unscored with an ``interrupted`` error, so the run can still be recorded as ``interrupted``.
    A `KeyboardInterrupt`, so code that does not know it stops as before."""

    def __init__(self, records: list[Any]) -> None:
        super().__init__("interrupted")
        self.records = records


class RunInterrupted(KeyboardInterrupt):
    """An interrupted evaluation with its evaluated records and their ``interrupted`` run records."""

    def __init__(self, evaluations: list[Any], runs: list[Any]) -> None:
        super().__init__("interrupted")
        self.evaluations = evaluations
        self.runs = runs


class FileEvaluationInterrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM stopped a file-to-file evaluation: every record was written to ``path``, those
    graded so far and the rest unscored (``interrupted``); ``tally`` counts them (`EvaluationTally`)."""

    def __init__(self, tally: Any, path: Any) -> None:
        super().__init__("interrupted")
        self.tally = tally
        self.path = path


class GenerationInterrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM stopped the generation of outputs: ``records`` holds every record, the answered
    ones and the rest with an ``interrupted`` ``output_error``; ``summary`` is the step's `StepSummary`."""

    def __init__(self, records: list[Any], summary: Any) -> None:
        super().__init__("interrupted")
        self.records = records
        self.summary = summary


class RubricsInterrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM stopped `brainstorm_rubrics` / `generate_rubrics` (or both in one go): ``records``
    holds every record, those finished with their brainstorm or rubric and the rest with an
    ``interrupted`` ``brainstormed_rubric_error`` / ``rubric_error``; ``summaries`` the steps' summaries."""

    def __init__(self, records: list[Any], summaries: list[Any]) -> None:
        super().__init__("interrupted")
        self.records = records
        self.summaries = summaries
