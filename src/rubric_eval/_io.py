"""Reading and writing record files (a JSON list or JSONL), atomically."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, TextIO, TypeVar

from pydantic import BaseModel, ValidationError

from rubric_eval.errors import InputError
from rubric_eval.records import Record

RecordT = TypeVar("RecordT", bound=BaseModel)


def _is_jsonl(path: Path) -> bool:
    return path.suffix.lower() in {".jsonl", ".ndjson"}


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a valid JSON number (use null for a missing value)")


def _loads(text: str) -> Any:
    """json.loads without NaN/Infinity (not JSON; they would make every statistic NaN)."""
    return json.loads(text, parse_constant=_reject_constant)


def read_raw(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Read a JSON list of objects (or JSONL) without validating the fields."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError("file not found", path=str(p)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read file: {exc}", path=str(p)) from None
    items: list[Any]
    if _is_jsonl(p):
        items = []
        for lineno, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                items.append(_loads(line))
            except json.JSONDecodeError as exc:
                raise InputError(f"invalid JSON on line {lineno}: {exc.msg}", path=str(p)) from None
            except ValueError as exc:
                raise InputError(f"invalid JSON on line {lineno}: {exc}", path=str(p)) from None
            except RecursionError:
                raise InputError(f"line {lineno} is nested too deeply to read", path=str(p)) from None
    else:
        try:
            data = _loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(
                f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg} "
                "(expected a JSON list of records, or a .jsonl file)",
                path=str(p),
            ) from None
        except ValueError as exc:
            raise InputError(f"invalid JSON: {exc}", path=str(p)) from None
        except RecursionError:
            raise InputError("the JSON is nested too deeply to read", path=str(p)) from None
        if isinstance(data, dict):
            # A single record is accepted as a list of one.
            data = [data]
        if not isinstance(data, list):
            raise InputError(f"expected a JSON list of records, got {type(data).__name__}", path=str(p))
        items = data
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise InputError(f"expected a JSON object, got {type(item).__name__}", path=str(p), index=index)
    return items


def validation_error_to_input_error(
    exc: ValidationError, *, path: str | None, index: int | None, record_id: object
) -> InputError:
    """Turn pydantic's error into one naming the file, record and field."""
    first = exc.errors()[0]
    field = ".".join(str(part) for part in first["loc"]) or None
    message = first["msg"]
    if first["type"] == "missing":
        message = "required field is missing"
    elif first["type"] in {"string_type", "dict_type", "list_type", "float_parsing"}:
        message = f"{message} (got {first.get('input')!r:.80})"
    more = len(exc.errors()) - 1
    if more:
        message += f" (and {more} more problem{'s' if more > 1 else ''} in this record)"
    return InputError(message, path=path, index=index, record_id=record_id, field=field)


def parse_records(
    raw: Sequence[dict[str, Any]],
    *,
    path: str | None = None,
    model: type[RecordT] = Record,  # type: ignore[assignment]  # default is the common case
) -> list[RecordT]:
    """Validate raw dicts into models; the first bad record raises an `InputError`."""
    records: list[RecordT] = []
    for index, item in enumerate(raw):
        try:
            records.append(model.model_validate(item))
        except ValidationError as exc:
            raise validation_error_to_input_error(
                exc, path=path, index=index, record_id=item.get("id")
            ) from None
    return records


def read_records(path: str | os.PathLike[str]) -> list[Record]:
    """Read and validate a record file."""
    return parse_records(read_raw(path), path=str(path))


def _dump(record: BaseModel | dict[str, Any]) -> dict[str, Any]:
    if isinstance(record, Record):
        return record.dump()
    if isinstance(record, BaseModel):
        return record.model_dump(mode="json", exclude_unset=True)
    return record


class RecordWriter:
    """Write records one at a time to a temp file beside ``path``; `commit` renames it into place.

    A JSON list is written one compact record per line (``[``, records joined by ``,``, ``]``):
    still one JSON document, written as records arrive, never built as one string. ``.jsonl``
    and ``.ndjson`` paths get one record per line. Use as a context manager: leaving it by an
    exception removes the temp file, so a failed run leaves nothing half-written.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.count = 0
        self._jsonl = _is_jsonl(self.path)
        self._handle, self._tmp = _open_temp_beside(self.path)
        if not self._jsonl:
            self._handle.write("[")

    def write(self, record: BaseModel | dict[str, Any]) -> None:
        self.write_json_line(json.dumps(_dump(record), ensure_ascii=False))

    def write_json_line(self, line: str) -> None:
        """Write one record already serialised as compact JSON (no newline inside)."""
        if self._jsonl:
            self._handle.write(line + "\n")
        else:
            self._handle.write(("\n" if self.count == 0 else ",\n") + line)
        self.count += 1

    def commit(self) -> Path:
        if not self._jsonl:
            self._handle.write("\n]\n")
        self._handle.flush()
        os.fsync(self._handle.fileno())
        self._handle.close()
        os.replace(self._tmp, self.path)
        return self.path

    def discard(self) -> None:
        if not self._handle.closed:
            self._handle.close()
        self._tmp.unlink(missing_ok=True)

    def __enter__(self) -> RecordWriter:
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        if exc_type is not None:
            self.discard()
        elif not self._handle.closed:
            self.commit()


def write_records(records: Iterable[BaseModel | dict[str, Any]], path: str | os.PathLike[str]) -> Path:
    """Write records as a JSON list (or JSONL by suffix) via a temp file and an atomic rename."""
    with RecordWriter(path) as writer:
        for record in records:
            writer.write(record)
    return writer.path


def _open_temp_beside(path: Path) -> tuple[TextIO, Path]:
    """A new temp file in ``path``'s folder (created if needed), open for writing text."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    # mkstemp creates 0600; results are shared files, so follow the umask like open() would.
    os.fchmod(fd, 0o666 & ~_current_umask())
    # backslashreplace: a lone surrogate (invalid Unicode) can only sit inside a JSON string,
    # where Python writes it as the JSON escape \udXXXX, so the file stays valid and round-trips.
    return os.fdopen(fd, "w", encoding="utf-8", errors="backslashreplace"), Path(tmp)


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write text to a temp file in the same folder, fsync, then rename over `path`."""
    p = Path(path)
    handle, tmp = _open_temp_beside(p)
    try:
        with handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, p)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
