"""Exceptions with messages a user can act on: which file, which record, which field, what was expected."""

from __future__ import annotations


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
