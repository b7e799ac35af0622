"""Who wrote a brainstorm or a rubric, and whether an expert changed what the LLM wrote.

When a step writes a field with an LLM it stores, next to it, a `FieldProvenance` with a
fingerprint (hash) of what it wrote and the draft itself. Later runs compare the field's
content with that fingerprint: unchanged is ``llm``, changed is ``llm+expert``, and a field
without provenance is ``expert``. Experts stay in charge: steps never regenerate a field an
expert wrote or edited unless asked to overwrite.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any, Literal

from pydantic import BaseModel

from rubric_eval.records import FieldProvenance as FieldProvenance  # re-exported: its home until now
from rubric_eval.records import Record

Source = Literal["llm", "expert", "llm+expert"]
# The record fields whose authorship is tracked, and the field holding each one's provenance.
TRACKED_FIELDS: tuple[str, ...] = ("brainstormed_rubric", "rubric")


def provenance_field(field: str) -> str:
    """``rubric`` -> ``rubric_provenance``."""
    return f"{field}_provenance"


def canonical(value: Any) -> Any:
    """The JSON form a field is compared in (models dumped; key order kept, since level order matters)."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    return value


def fingerprint(value: Any) -> str:
    """A stable hash of a field's content."""
    text = json.dumps(canonical(value), ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def now_iso() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def llm_provenance(value: Any, *, config: str, input_value: Any = None) -> FieldProvenance:
    """Provenance for a field the LLM just wrote."""
    return FieldProvenance(
        source="llm",
        config=config,
        date=now_iso(),
        fingerprint=fingerprint(value),
        llm_draft=canonical(value),
        input_fingerprint=None if input_value is None else fingerprint(input_value),
    )


def read_provenance(record: Record, field: str) -> FieldProvenance | None:
    """The provenance stored next to `field`, or None (also when it was malformed: see `Record`)."""
    value = getattr(record, provenance_field(field), None)
    return value if isinstance(value, FieldProvenance) else None


def current_source(value: Any, provenance: FieldProvenance | None) -> Source | None:
    """Who wrote `value` now: None when absent; ``expert`` without provenance; else compare fingerprints."""
    if value is None:
        return None
    if provenance is None:
        return "expert"
    if provenance.fingerprint is None:
        return provenance.source
    return "llm" if fingerprint(value) == provenance.fingerprint else "llm+expert"


def refreshed_provenance(record: Record, field: str) -> FieldProvenance | None:
    """The provenance `field` should carry now, given its current content (None when the field is absent)."""
    value = getattr(record, field, None)
    provenance = read_provenance(record, field)
    source = current_source(value, provenance)
    if source is None:
        return None
    if provenance is None:
        return FieldProvenance(source="expert")
    return provenance.model_copy(update={"source": source})
