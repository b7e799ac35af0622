"""Reading and writing record files (a JSON list or JSONL), atomically."""

from __future__ import annotations

import array
import glob
import json
import math
import os
import re
import tempfile
from collections.abc import Iterable, Iterator, Sequence
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


def _jsonl_error(lineno: int, exc: json.JSONDecodeError) -> str:
    # exc.msg alone can read cut off ("Invalid control character at"): give the column too.
    return f"invalid JSON on line {lineno} column {exc.colno}: {exc.msg} (expected one JSON object per line)"


def _check_single_record(data: dict[str, Any], path: str) -> None:
    # A lone object without an instruction is another kind of file (a report, a leaderboard, a config):
    # say so, rather than "record 0, field 'instruction': required field is missing".
    if "instruction" not in data:
        keys = ", ".join(list(data)[:6]) + (", ..." if len(data) > 6 else "")
        raise InputError(
            "expected a JSON list of records (or one record with 'instruction'), "
            f"got one JSON object with keys: {keys or 'none'}",
            path=path,
        )


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
        items = list(iter_jsonl(text.splitlines(), str(p)))
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
            _check_single_record(data, str(p))
            data = [data]
        if not isinstance(data, list):
            raise InputError(f"expected a JSON list of records, got {type(data).__name__}", path=str(p))
        items = data
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise InputError(f"expected a JSON object, got {type(item).__name__}", path=str(p), index=index)
    return items


_CHUNK_CHARS = 1 << 20
_NOT_SPACE = re.compile(r"\S")


class _ChunkedText:
    """A text file read in chunks, with the line number of any position (for error messages)."""

    def __init__(self, handle: TextIO) -> None:
        self.handle = handle
        self.buf = ""
        self.pos = 0
        self.lines_before = 0  # newlines in the text already dropped from ``buf``
        self.eof = False

    def more(self) -> bool:
        """Drop what was consumed and read the next chunk; False at the end of the file."""
        if self.eof:
            return False
        self.lines_before += self.buf.count("\n", 0, self.pos)
        chunk = self.handle.read(_CHUNK_CHARS)
        self.buf, self.pos = self.buf[self.pos :] + chunk, 0
        self.eof = not chunk
        return bool(chunk)

    def next_char(self) -> str:
        """The next non-space character (not consumed), or "" at the end of the file."""
        while (match := _NOT_SPACE.search(self.buf, self.pos)) is None:
            self.pos = len(self.buf)
            if not self.more():
                return ""
        self.pos = match.start()
        return self.buf[self.pos]

    def where(self, pos: int) -> tuple[int, int]:
        line = self.lines_before + self.buf.count("\n", 0, pos) + 1
        column = pos - (self.buf.rfind("\n", 0, pos) + 1) + 1
        return line, column


def _iter_json_list(handle: TextIO, path: str) -> Iterator[Any]:
    """The elements of a JSON list (or one JSON object), one at a time, in bounded memory."""
    decoder = json.JSONDecoder(parse_constant=_reject_constant)
    text = _ChunkedText(handle)

    def invalid(pos: int, message: str) -> InputError:
        line, column = text.where(pos)
        return InputError(
            f"invalid JSON at line {line} column {column}: {message} "
            "(expected a JSON list of records, or a .jsonl file)",
            path=path,
        )

    def decode() -> tuple[Any, int] | json.JSONDecodeError:
        try:
            return decoder.raw_decode(text.buf, text.pos)
        except json.JSONDecodeError as exc:
            return exc

    def cut(outcome: tuple[Any, int] | json.JSONDecodeError) -> bool:
        # An error, or a bare number, at the chunk's end may just need the next chunk.
        if isinstance(outcome, json.JSONDecodeError):
            return True
        return outcome[1] == len(text.buf) and not isinstance(outcome[0], (dict, list, str))

    def value() -> Any:
        text.next_char()
        outcome = decode()
        while cut(outcome) and text.more():
            outcome = decode()
        if isinstance(outcome, json.JSONDecodeError):
            raise invalid(outcome.pos, outcome.msg)
        text.pos = outcome[1]
        return outcome[0]

    first = text.next_char()
    if first != "[":
        data = value()
        if text.next_char():
            raise invalid(text.pos, "Extra data")
        if not isinstance(data, dict):
            raise InputError(f"expected a JSON list of records, got {type(data).__name__}", path=path)
        _check_single_record(data, path)
        yield data  # a single record is accepted as a list of one
        return
    text.pos += 1
    separator = "]" if text.next_char() == "]" else ","
    if separator == "]":
        text.pos += 1
    while separator == ",":
        yield value()
        separator = text.next_char()
        text.pos += 1
        if separator not in {",", "]"}:
            raise invalid(text.pos - 1, "Expecting ',' delimiter" if separator else "Expecting value")
    if text.next_char():
        raise invalid(text.pos, "Extra data")


def iter_raw(path: str | os.PathLike[str]) -> Iterator[dict[str, Any]]:
    """Records of a JSON list (or JSONL) file one at a time, unvalidated, without holding the file.

    Errors are the same as `read_raw`'s, raised when the reader reaches the problem.
    """
    p = Path(path)
    try:
        handle = p.open(encoding="utf-8")
    except FileNotFoundError:
        raise InputError("file not found", path=str(p)) from None
    except OSError as exc:
        raise InputError(f"cannot read file: {exc}", path=str(p)) from None
    with handle:
        reader = iter_jsonl if _is_jsonl(p) else _iter_json_list
        items = reader(handle, str(p))
        try:
            for index, item in enumerate(items):
                if not isinstance(item, dict):
                    raise InputError(
                        f"expected a JSON object, got {type(item).__name__}", path=str(p), index=index
                    )
                yield item
        except UnicodeDecodeError as exc:
            raise InputError(f"cannot read file: {exc}", path=str(p)) from None
        except RecursionError:
            raise InputError("the JSON is nested too deeply to read", path=str(p)) from None
        except ValueError as exc:  # NaN or Infinity, which JSON does not have
            raise InputError(f"invalid JSON: {exc}", path=str(p)) from None


def iter_jsonl(lines: Iterable[str], path: str) -> Iterator[Any]:
    """The values of JSONL lines (blank lines skipped); a bad line is an InputError naming its line and
    column. One parser for every JSONL file the package reads (records, labels, the Studio's files)."""
    for lineno, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            yield _loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(_jsonl_error(lineno, exc), path=path) from None
        except ValueError as exc:
            raise InputError(f"invalid JSON on line {lineno}: {exc}", path=path) from None
        except RecursionError:
            raise InputError(f"line {lineno} is nested too deeply to read", path=path) from None


def iter_records(
    path: str | os.PathLike[str],
    *,
    model: type[RecordT] = Record,  # type: ignore[assignment]  # default is the common case
) -> Iterator[RecordT]:
    """Read and validate records one at a time; the first bad record raises an `InputError`."""
    for index, item in enumerate(iter_raw(path)):
        try:
            yield model.model_validate(item)
        except ValidationError as exc:
            raise validation_error_to_input_error(
                exc, path=str(path), index=index, record_id=item.get("id")
            ) from None


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
    """Read and validate a record file (one record at a time: the file's text and its raw JSON are
    never all in memory beside the records, which halves the peak for large files)."""
    return list(iter_records(path))


def _dump(record: BaseModel | dict[str, Any]) -> dict[str, Any]:
    if isinstance(record, Record):
        return record.dump()
    if isinstance(record, BaseModel):
        return record.model_dump(mode="json", exclude_unset=True)
    return record


def record_json(data: dict[str, Any]) -> str:
    """One record as compact JSON. NaN and infinity are not JSON (and would poison every statistic
    read back): a non-finite number is written as null."""
    try:
        return json.dumps(data, ensure_ascii=False, allow_nan=False)
    except ValueError:
        return json.dumps(_finite_only(data), ensure_ascii=False, allow_nan=False)


def _finite_only(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite_only(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite_only(v) for v in value]
    return value


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
        self.write_json_line(record_json(_dump(record)))

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


class OrderedSpill:
    """Records that finish out of order, written to ``path`` in input order.

    Each record is appended to an anonymous spill file beside ``path`` as it arrives (nothing
    else of it stays in memory: the index keeps three integers per record); `commit` then writes
    ``path`` in input order through a `RecordWriter` (temp file, atomic rename).
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Anonymous (gone when closed, or when the process dies): never left beside the output.
        # Closed by commit/discard/__exit__.
        # A 64 KiB buffer: records of ~10 KB would otherwise be one system call each (half the CPU of
        # the spill's writes).
        self._spill = tempfile.TemporaryFile(  # noqa: SIM115
            prefix=".spill.", dir=self.path.parent, buffering=1 << 16
        )
        self._size = 0
        self._order = array.array("q")
        self._start = array.array("q")
        self._length = array.array("q")

    def __len__(self) -> int:
        return len(self._order)

    def put(self, index: int, record: BaseModel | dict[str, Any]) -> None:
        line = _json_line(record)
        self._spill.write(line)
        self._order.append(index)
        self._start.append(self._size)
        self._length.append(len(line))
        self._size += len(line)

    def commit(self, path: str | os.PathLike[str] | None = None) -> Path:
        """Write ``path`` (records in input order; default: the spill's own) and drop the spill file."""
        self._spill.flush()
        order = sorted(range(len(self._order)), key=self._order.__getitem__)
        with RecordWriter(self.path if path is None else path) as writer:
            for k in order:
                self._spill.seek(self._start[k])
                writer.write_json_line(self._spill.read(self._length[k]).decode("utf-8"))
        self._spill.close()
        return writer.path

    def discard(self) -> None:
        self._spill.close()

    def __enter__(self) -> OrderedSpill:
        return self

    def __exit__(self, *exc: object) -> None:
        self._spill.close()


def _json_line(record: BaseModel | dict[str, Any]) -> bytes:
    """One record as compact UTF-8 JSON, as `RecordWriter` writes it (pydantic's serializer when it
    can: 4x faster than dumping to a dict and then to JSON)."""
    if isinstance(record, Record):
        try:
            return record.model_dump_json(exclude_unset=True).encode("utf-8")
        except ValueError:  # e.g. a lone surrogate in an extra field: the general path escapes it
            pass
    # backslashreplace: a lone surrogate can only sit inside a JSON string, where this is its escape.
    return record_json(_dump(record)).encode("utf-8", "backslashreplace")


def write_records(records: Iterable[BaseModel | dict[str, Any]], path: str | os.PathLike[str]) -> Path:
    """Write records as a JSON list (or JSONL by suffix) via a temp file and an atomic rename."""
    with RecordWriter(path) as writer:
        for record in records:
            writer.write(record)
    return writer.path


def _open_temp_beside(path: Path) -> tuple[TextIO, Path]:
    """A new temp file in ``path``'s folder (created if needed), open for writing text.

    Its name carries this process's id; temp files of processes that no longer exist (a run
    killed with SIGKILL mid-write) are removed first, so none outlives the next write.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_temps(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp", dir=path.parent)
    # mkstemp creates 0600; results are shared files, so follow the umask like open() would.
    os.fchmod(fd, 0o666 & ~_current_umask())
    # backslashreplace: a lone surrogate (invalid Unicode) can only sit inside a JSON string,
    # where Python writes it as the JSON escape \udXXXX, so the file stays valid and round-trips.
    return os.fdopen(fd, "w", encoding="utf-8", errors="backslashreplace"), Path(tmp)


def _remove_stale_temps(path: Path) -> None:
    prefix = f".{path.name}."
    for candidate in path.parent.glob(f"{glob.escape(prefix)}*.tmp"):
        pid_text = candidate.name[len(prefix) :].split(".", 1)[0]
        if pid_text.isdigit() and not _alive(int(pid_text)):
            candidate.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, OSError):
        return True  # another user's process, or not ours to judge: leave its file alone
    return True


def check_writable(path: str | os.PathLike[str]) -> None:
    """Fail now, before any LLM call is paid for, if ``path`` cannot be written (InputError)."""
    p = Path(path)
    if p.is_dir():
        raise InputError("is a folder; expected a file path to write", path=str(p))
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=f".{p.name}.{os.getpid()}.", suffix=".tmp", dir=p.parent)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise InputError(f"cannot write the output here ({reason}); nothing was run", path=str(p)) from None


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write text to a temp file in the same folder, fsync, then rename over `path`."""
    atomic_write_chunks(path, (text,))


def atomic_write_chunks(path: str | os.PathLike[str], chunks: Iterable[str]) -> None:
    """`atomic_write_text` of text produced piece by piece (never all in memory)."""
    p = Path(path)
    handle, tmp = _open_temp_beside(p)
    try:
        with handle:
            for chunk in chunks:
                handle.write(chunk)
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
