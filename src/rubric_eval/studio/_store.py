"""The record file behind the Studio: read it, fingerprint it, and apply an expert's edits without losing any.

Every edit names the fingerprint of the value it started from (its *base*). A save re-reads the file and
applies a record's edits only when each edited field on disk still has that fingerprint; otherwise the
field is a conflict, returned with both versions, and nothing of that record is written. So two browser
tabs, or a CLI command that rewrote the file, never silently overwrite each other. Records are written
back as the dicts they were read as, with only the edited fields (and their provenance) replaced: every
other field, including unknown ones, is kept verbatim.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from rubric_eval import BrainstormedRubric, Record, Rubric, write_records
from rubric_eval._io import iter_jsonl
from rubric_eval.diff import diff_field, render_change
from rubric_eval.errors import InputError
from rubric_eval.provenance import (
    FieldProvenance,
    current_source,
    fingerprint,
    llm_provenance,
    now_iso,
    provenance_field,
    read_provenance,
)

Status = Literal["draft", "in review", "approved"]
STATUSES: tuple[Status, ...] = ("draft", "in review", "approved")
EditableField = Literal["brainstormed_rubric", "rubric", "excellent_response", "review"]
EDITABLE_FIELDS: tuple[EditableField, ...] = ("brainstormed_rubric", "rubric", "excellent_response", "review")
REVIEW_FIELD = "review"
SAVE_ATTEMPTS = 3
MAX_HISTORY = 200  # per field; older entries are dropped so a long review keeps the file readable


class ReviewEvent(BaseModel):
    """One status change: who set which status when."""

    model_config = ConfigDict(extra="allow")

    status: Status
    by: str
    date: str


class Review(BaseModel):
    """The ``review`` field of a record: its review status and who reviewed it."""

    model_config = ConfigDict(extra="allow")

    status: Status = "draft"
    reviewer: str | None = None
    date: str | None = None
    history: list[ReviewEvent] = Field(default_factory=list)


class EditEvent(BaseModel):
    """One save of a brainstorm or rubric, kept in the field's provenance under ``history``."""

    model_config = ConfigDict(extra="allow")

    by: str
    date: str
    source: str = Field(description="Who wrote the field after this save: llm, expert or llm+expert.")
    changes: list[str] = Field(default_factory=list, description="`rubric_eval diff` lines of this save.")
    llm_suggestions: list[str] = Field(
        default_factory=list, description="LLM suggestions the reviewer accepted in this save."
    )


class FieldEdit(BaseModel):
    """A new value for one field, and the fingerprint of the on-disk value the edit started from."""

    model_config = ConfigDict(extra="forbid")

    field: EditableField
    base: str | None = Field(description="Fingerprint of the value the edit started from (None: absent).")
    value: Any
    draft_id: str | None = Field(default=None, description="An accepted LLM draft of the whole field.")
    suggestions: list[str] = Field(default_factory=list, description="Accepted LLM suggestions (labels).")


class RecordEdit(BaseModel):
    model_config = ConfigDict(extra="forbid")

    index: int = Field(ge=0)
    key: str
    fields: list[FieldEdit] = Field(min_length=1)


class SaveRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reviewer: str = Field(min_length=1)
    edits: list[RecordEdit]


class Conflict(BaseModel):
    """A field someone else changed since the edit started: both versions, for the expert to choose."""

    index: int
    key: str
    field: str
    theirs: Any
    theirs_base: str | None
    yours: Any
    message: str


class SaveProblem(BaseModel):
    index: int
    key: str
    field: str | None
    message: str


class SaveResult(BaseModel):
    saved: list[int] = Field(default_factory=list)
    conflicts: list[Conflict] = Field(default_factory=list)
    problems: list[SaveProblem] = Field(default_factory=list)
    etag: str


@dataclass(frozen=True)
class AcceptedDraft:
    """An LLM draft of a whole field that the expert accepted; it becomes the field's LLM draft."""

    field: str
    value: Any
    config: str
    input_value: Any = None
    extra_fields: tuple[tuple[str, Any], ...] = ()


def value_fingerprint(value: Any) -> str | None:
    """The fingerprint an edit's base is compared with (None for an absent field)."""
    return None if value is None else fingerprint(value)


def record_key(raw: dict[str, Any]) -> str:
    """How a record is recognised after the file changed: its id, else a hash of its instruction."""
    if raw.get("id") is not None:
        return f"id:{raw['id']}"
    return "instruction:" + hashlib.sha256(str(raw.get("instruction", "")).encode()).hexdigest()[:16]


def canonical_field(field: str, value: Any) -> Any:
    """A field's value in the form the Studio edits: canonical list rubrics; other fields unchanged."""
    if value is None:
        return None
    if field == "rubric":
        return Rubric.model_validate(value).model_dump(mode="json")
    if field == "brainstormed_rubric":
        return BrainstormedRubric.model_validate(value).model_dump(mode="json")
    if field == REVIEW_FIELD:
        return Review.model_validate(value).model_dump(mode="json")
    return value


def review_of(raw: dict[str, Any]) -> Review:
    try:
        return Review.model_validate(raw.get(REVIEW_FIELD) or {})
    except ValidationError:
        return Review()


def _parse(data: bytes, path: Path) -> list[dict[str, Any]]:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"cannot read file: {exc}", path=str(path)) from None
    items: list[Any]
    if path.suffix.lower() in {".jsonl", ".ndjson"}:
        items = list(iter_jsonl(text.splitlines(), str(path)))
    else:
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(
                f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}", path=str(path)
            ) from None
        items = [parsed] if isinstance(parsed, dict) else parsed
        if not isinstance(items, list):
            raise InputError(f"expected a JSON list of records, got {type(parsed).__name__}", path=str(path))
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise InputError(
                f"expected a JSON object, got {type(item).__name__}", path=str(path), index=index
            )
    return items


@dataclass(frozen=True)
class Snapshot:
    """The file as read once: its records as raw dicts and the sha256 of its bytes (the etag)."""

    raw: list[dict[str, Any]]
    etag: str
    stat_key: tuple[int, int, int]

    def locate(self, index: int, key: str) -> int | None:
        """Where an edited record is now: the same index and key, else the only record with that key."""
        if index < len(self.raw) and record_key(self.raw[index]) == key:
            return index
        found = [i for i, raw in enumerate(self.raw) if record_key(raw) == key]
        return found[0] if len(found) == 1 else None


class RecordStore:
    """One record file, re-read whenever it changes on disk; saves are checked and atomic."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._snapshot: Snapshot | None = None
        self.snapshot()  # fail now on a missing or malformed file

    def _stat_key(self) -> tuple[int, int, int]:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            raise InputError("file not found", path=str(self.path)) from None
        return (st.st_mtime_ns, st.st_size, st.st_ino)

    def snapshot(self) -> Snapshot:
        """The current file content (cached until its size, mtime or inode changes)."""
        key = self._stat_key()
        cached = self._snapshot
        if cached is not None and cached.stat_key == key:
            return cached
        data = self.path.read_bytes()
        snap = Snapshot(raw=_parse(data, self.path), etag=hashlib.sha256(data).hexdigest(), stat_key=key)
        self._snapshot = snap
        return snap

    def _fresh(self) -> Snapshot:
        # A save must compare against the bytes on disk now, not a cached read (mtime can be coarse).
        self._snapshot = None
        return self.snapshot()

    def save(self, request: SaveRequest, drafts: dict[str, AcceptedDraft] | None = None) -> SaveResult:
        """Apply each record's edits if their bases still match the file; write once, atomically.

        If the file changes while the edits are being applied (a CLI command wrote it), they are applied
        again to the new content, so that write is not overwritten; after `SAVE_ATTEMPTS` the save gives up.
        """
        with self._lock:
            for _ in range(SAVE_ATTEMPTS):
                snap = self._fresh()
                result, raw, changed = self._prepare(snap, request, {} if drafts is None else drafts)
                if not changed:
                    return result
                if self._stat_key() != snap.stat_key:
                    continue  # changed on disk meanwhile: apply the edits to the new content
                write_records(raw, self.path)
                # The records are those just written: hash the bytes rather than parse them again.
                written = Snapshot(
                    raw=raw,
                    etag=hashlib.sha256(self.path.read_bytes()).hexdigest(),
                    stat_key=self._stat_key(),
                )
                self._snapshot = written
                result.etag = written.etag
                return result
            raise InputError(
                f"the file kept changing while saving ({SAVE_ATTEMPTS} attempts); nothing was written, "
                "your edits are kept in the page: save again",
                path=str(self.path),
            )

    @staticmethod
    def _prepare(
        snap: Snapshot, request: SaveRequest, drafts: dict[str, AcceptedDraft]
    ) -> tuple[SaveResult, list[dict[str, Any]], bool]:
        """The records with the edits applied, what happened, and whether anything changed."""
        raw = list(snap.raw)
        result = SaveResult(etag=snap.etag)
        changed = False
        for edit in request.edits:
            at = snap.locate(edit.index, edit.key)
            if at is None:
                result.problems.append(
                    SaveProblem(
                        index=edit.index,
                        key=edit.key,
                        field=None,
                        message="this record is no longer in the file (it was removed or its id changed)",
                    )
                )
                continue
            updated = _apply(raw[at], edit, at, request.reviewer, drafts, result)
            if updated is not None:
                changed = changed or updated is not raw[at]
                raw[at] = updated
                result.saved.append(at)
        return result, raw, changed


def _apply(
    current: dict[str, Any],
    edit: RecordEdit,
    at: int,
    reviewer: str,
    drafts: dict[str, AcceptedDraft],
    result: SaveResult,
) -> dict[str, Any] | None:
    """The record with the edit applied, or None (conflicts and problems added to `result`).

    A field whose new value equals the file's is left alone (also when the base differs: both sides made
    the same change); a field changed on disk since the edit's base is a conflict.
    """
    ok = True
    todo: list[FieldEdit] = []
    for field_edit in edit.fields:
        theirs = current.get(field_edit.field)
        if _same(field_edit.field, theirs, field_edit.value):
            continue
        if value_fingerprint(theirs) == field_edit.base:
            todo.append(field_edit)
            continue
        ok = False
        result.conflicts.append(
            Conflict(
                index=at,
                key=edit.key,
                field=field_edit.field,
                theirs=theirs,
                theirs_base=value_fingerprint(theirs),
                yours=field_edit.value,
                message=f"{field_edit.field} changed in the file since you started editing it",
            )
        )
    if not ok:
        return None
    if not todo:
        return current  # nothing to change: the caller writes nothing for this record
    updated = dict(current)
    date = now_iso()
    try:
        for field_edit in todo:
            _set_field(updated, current, field_edit, reviewer, date, drafts)
        Record.model_validate(updated)
    except (ValidationError, ValueError) as exc:
        result.problems.append(
            SaveProblem(index=at, key=edit.key, field=_field_of(exc), message=_message(exc))
        )
        return None
    return updated


def _same(field: str, theirs: Any, yours: Any) -> bool:
    if field == REVIEW_FIELD:
        try:
            return Review.model_validate(theirs or {}).status == Review.model_validate(yours or {}).status
        except ValidationError:
            return False
    try:
        return bool(canonical_field(field, theirs) == canonical_field(field, yours))
    except ValidationError:
        return False


def _field_of(exc: Exception) -> str | None:
    if isinstance(exc, ValidationError) and exc.errors():
        return ".".join(str(p) for p in exc.errors()[0]["loc"]) or None
    return None


def _message(exc: Exception) -> str:
    if isinstance(exc, ValidationError) and exc.errors():
        return str(exc.errors()[0]["msg"]).removeprefix("Value error, ")
    return str(exc)


def _set_field(
    updated: dict[str, Any],
    before: dict[str, Any],
    edit: FieldEdit,
    reviewer: str,
    date: str,
    drafts: dict[str, AcceptedDraft],
) -> None:
    name = edit.field
    if name == REVIEW_FIELD:
        old = review_of(before)
        new = Review.model_validate(edit.value)
        history: list[ReviewEvent] = list(old.history)
        if new.status != old.status:
            history.append(ReviewEvent(status=new.status, by=reviewer, date=date))
        review = old.model_copy(update={"status": new.status, "reviewer": reviewer, "date": date})
        review.history = history[-MAX_HISTORY:]
        updated[name] = review.model_dump(mode="json", exclude_none=True)
        return
    if name == "excellent_response":
        if edit.value is not None and not isinstance(edit.value, str):
            raise ValueError("excellent_response must be text")
        updated[name] = edit.value
        return
    model = Rubric if name == "rubric" else BrainstormedRubric
    value = model.model_validate(edit.value).model_dump(mode="json")
    updated[name] = value
    draft = drafts.get(edit.draft_id) if edit.draft_id else None
    provenance = _provenance(before, name, draft)
    previous = before.get(name)
    if previous is None:
        changes = [f"created by {reviewer}" if draft is None else f"LLM draft by {draft.config} accepted"]
    else:
        try:
            changes = [
                line.strip() for c in diff_field(name, previous, value).changes for line in render_change(c)
            ]
        except ValidationError:
            changes = ["replaced a value that did not validate"]
    if draft is not None:
        updated.update(dict(draft.extra_fields))
    source = current_source(value, provenance) or "expert"
    extra = provenance.model_extra or {}
    edits: list[Any] = list(extra.get("history") or [])
    edits.append(
        EditEvent(
            by=reviewer, date=date, source=source, changes=changes, llm_suggestions=edit.suggestions
        ).model_dump(mode="json")
    )
    provenance = provenance.model_copy(update={"source": source})
    dumped = provenance.model_dump(mode="json", exclude_none=True)
    dumped.update(history=edits[-MAX_HISTORY:], edited_by=reviewer, edited_date=date)
    updated[provenance_field(name)] = dumped


def _provenance(before: dict[str, Any], field: str, draft: AcceptedDraft | None) -> FieldProvenance:
    if draft is not None:
        return llm_provenance(draft.value, config=draft.config, input_value=draft.input_value)
    try:
        record = Record.model_validate(before)
    except ValidationError:
        record = None
    existing = read_provenance(record, field) if record is not None else None
    return existing if existing is not None else FieldProvenance(source="expert")


class RecordSummary(BaseModel):
    """One line of the instruction list."""

    index: int
    key: str
    id: str | None
    category: str | None
    title: str
    status: Status
    reviewer: str | None
    fields: list[str]
    sources: dict[str, str | None]


def summaries(snap: Snapshot) -> list[RecordSummary]:
    out = []
    for index, raw in enumerate(snap.raw):
        review = review_of(raw)
        sources: dict[str, str | None] = {}
        for field in ("brainstormed_rubric", "rubric"):
            if raw.get(field) is None:
                continue
            stored = raw.get(provenance_field(field))
            try:
                prov = FieldProvenance.model_validate(stored) if isinstance(stored, dict) else None
            except ValidationError:
                prov = None
            sources[field] = current_source(raw[field], prov)
        instruction = str(raw.get("instruction", ""))
        out.append(
            RecordSummary(
                index=index,
                key=record_key(raw),
                id=None if raw.get("id") is None else str(raw["id"]),
                category=None if raw.get("category") is None else str(raw["category"]),
                title=" ".join(instruction.split())[:160],
                status=review.status,
                reviewer=review.reviewer,
                fields=[f for f in ("brainstormed_rubric", "rubric") if raw.get(f) is not None],
                sources=sources,
            )
        )
    return out


def file_levels(snap: Snapshot) -> list[str] | None:
    """The level names most of the file's rubrics use (best first), or None without a valid rubric."""
    counts: Counter[tuple[str, ...]] = Counter()
    for raw in snap.raw:
        if raw.get("rubric") is None:
            continue
        try:
            counts[tuple(Rubric.model_validate(raw["rubric"]).levels)] += 1
        except ValidationError:
            continue
    return list(counts.most_common(1)[0][0]) if counts else None
