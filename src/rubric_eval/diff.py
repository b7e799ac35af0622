"""What an expert changed in a brainstorm or rubric, against the LLM's draft.

The draft comes from the field's provenance (``llm_draft``, stored when the LLM wrote the field) or from
another file. Criteria are matched by name, then remaining ones by content similarity (a rename keeps
most of the text); what is left was added or removed.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError

from rubric_eval.provenance import TRACKED_FIELDS, current_source, read_provenance
from rubric_eval.records import BrainstormedRubric, Record, Rubric

RENAME_SIMILARITY = 0.5
_WEIGHT_EPS = 1e-6


class CriterionChange(BaseModel):
    """One criterion that differs between the draft and the current version."""

    kind: Literal["added", "removed", "renamed", "changed"]
    criterion: str = Field(description="Current name (the draft's name for removed criteria).")
    old_name: str | None = None
    old_weight: float | None = None
    new_weight: float | None = None
    cells: dict[str, tuple[str | None, str | None]] = Field(
        default_factory=dict, description="Rubric level -> (draft text, current text) where they differ."
    )
    checklist_added: list[str] = Field(default_factory=list)
    checklist_removed: list[str] = Field(default_factory=list)

    @property
    def weight_changed(self) -> bool:
        if self.old_weight is None or self.new_weight is None:
            return False
        return abs(self.old_weight - self.new_weight) > _WEIGHT_EPS


class FieldDiff(BaseModel):
    """The difference for one field (``brainstormed_rubric`` or ``rubric``) of one record."""

    field: str
    source: str | None = Field(default=None, description="Who wrote the current version.")
    status: Literal["unchanged", "changed", "no_draft", "absent"]
    draft_config: str | None = None
    draft_date: str | None = None
    changes: list[CriterionChange] = Field(default_factory=list)
    levels_added: list[str] = Field(default_factory=list)
    levels_removed: list[str] = Field(default_factory=list)
    order_changed: bool = False


class RecordDiff(BaseModel):
    index: int
    record_id: str
    fields: list[FieldDiff]

    @property
    def changed(self) -> bool:
        return any(f.status == "changed" for f in self.fields)


# A criterion reduced to what the diff compares: name, weight, level cells, checklist.
class _Row(BaseModel):
    name: str
    weight: float
    cells: dict[str, str] = Field(default_factory=dict)
    checklist: list[str] = Field(default_factory=list)

    def text(self) -> str:
        return "\n".join([*self.cells.values(), *self.checklist])


def _rows(field: str, value: Any) -> list[_Row]:
    if field == "rubric":
        rubric = value if isinstance(value, Rubric) else Rubric.model_validate(value)
        return [
            _Row(name=c.criterion, weight=c.weight, cells=c.performance_to_description) for c in rubric.root
        ]
    brainstorm = value if isinstance(value, BrainstormedRubric) else BrainstormedRubric.model_validate(value)
    return [_Row(name=c.criterion, weight=c.weight, checklist=c.checklist) for c in brainstorm.root]


def _similarity(a: _Row, b: _Row) -> float:
    return difflib.SequenceMatcher(None, a.text(), b.text(), autojunk=False).ratio()


def _compare(old: _Row, new: _Row) -> CriterionChange | None:
    cells = {
        level: (old.cells.get(level), new.cells.get(level))
        for level in dict.fromkeys([*old.cells, *new.cells])
        if old.cells.get(level) != new.cells.get(level)
    }
    change = CriterionChange(
        kind="renamed" if old.name != new.name else "changed",
        criterion=new.name,
        old_name=old.name if old.name != new.name else None,
        old_weight=old.weight,
        new_weight=new.weight,
        cells=cells,
        checklist_added=[item for item in new.checklist if item not in old.checklist],
        checklist_removed=[item for item in old.checklist if item not in new.checklist],
    )
    edited = change.weight_changed or cells or change.checklist_added or change.checklist_removed
    return change if edited or change.kind == "renamed" else None


def diff_rows(old: Sequence[_Row], new: Sequence[_Row]) -> tuple[list[CriterionChange], bool]:
    """Criterion changes from `old` to `new`, and whether the criteria that stayed changed order."""
    old_by_name = {row.name: row for row in old}
    pairs: list[tuple[_Row, _Row]] = [(old_by_name[row.name], row) for row in new if row.name in old_by_name]
    left_old = [row for row in old if row.name not in {n.name for n in new}]
    left_new = [row for row in new if row.name not in old_by_name]
    scored = sorted(
        ((_similarity(o, n), i, j) for i, o in enumerate(left_old) for j, n in enumerate(left_new)),
        reverse=True,
    )
    used_old: set[int] = set()
    used_new: set[int] = set()
    for score, i, j in scored:
        if score >= RENAME_SIMILARITY and i not in used_old and j not in used_new:
            pairs.append((left_old[i], left_new[j]))
            used_old.add(i)
            used_new.add(j)
    changes = [change for o, n in pairs if (change := _compare(o, n)) is not None]
    changes += [
        CriterionChange(kind="added", criterion=n.name, new_weight=n.weight)
        for j, n in enumerate(left_new)
        if j not in used_new
    ]
    changes += [
        CriterionChange(kind="removed", criterion=o.name, old_weight=o.weight)
        for i, o in enumerate(left_old)
        if i not in used_old
    ]
    old_pos = {row.name: k for k, row in enumerate(old)}
    new_pos = {row.name: k for k, row in enumerate(new)}
    by_old = [n.name for o, n in sorted(pairs, key=lambda pair: old_pos[pair[0].name])]
    by_new = [n.name for o, n in sorted(pairs, key=lambda pair: new_pos[pair[1].name])]
    return changes, by_old != by_new


def diff_field(field: str, draft: Any, current: Any) -> FieldDiff:
    """Compare a draft and a current brainstorm or rubric (models or their JSON)."""
    if current is None:
        return FieldDiff(field=field, status="absent")
    if draft is None:
        return FieldDiff(field=field, status="no_draft")
    old, new = _rows(field, draft), _rows(field, current)
    changes, order_changed = diff_rows(old, new)
    old_levels = list(old[0].cells) if old and old[0].cells else []
    new_levels = list(new[0].cells) if new and new[0].cells else []
    return FieldDiff(
        field=field,
        status="changed" if changes or order_changed or old_levels != new_levels else "unchanged",
        changes=changes,
        levels_added=[lvl for lvl in new_levels if lvl not in old_levels],
        levels_removed=[lvl for lvl in old_levels if lvl not in new_levels],
        order_changed=order_changed,
    )


def diff_record(record: Record, *, against: Record | None = None, index: int = 0) -> RecordDiff:
    """What changed in the record's brainstorm and rubric, against `against` or the stored LLM drafts."""
    fields = []
    for field in TRACKED_FIELDS:
        current = getattr(record, field)
        provenance = read_provenance(record, field)
        if against is not None:
            draft = getattr(against, field)
        else:
            draft = provenance.llm_draft if provenance is not None else None
        try:
            result = diff_field(field, draft, current)
        except ValidationError:
            # A stored draft that no longer parses cannot be compared; say so instead of failing the file.
            result = FieldDiff(field=field, status="no_draft")
        result.source = current_source(current, provenance)
        if provenance is not None:
            result.draft_config, result.draft_date = provenance.config, provenance.date
        fields.append(result)
    return RecordDiff(index=index, record_id=record.record_id, fields=fields)


def _match_key(record: Record) -> tuple[str, str]:
    return ("id", str(record.id)) if record.id is not None else ("instruction", record.instruction)


def diff_records(records: Sequence[Record], against: Sequence[Record] | None = None) -> list[RecordDiff]:
    """Diff every record, against the matching record (same id, else same instruction) or its drafts."""
    if against is None:
        return [diff_record(r, index=i) for i, r in enumerate(records)]
    by_key = {_match_key(r): r for r in against}
    out = []
    for i, record in enumerate(records):
        original = by_key.get(_match_key(record))
        if original is None:
            fields = [FieldDiff(field=f, status="no_draft") for f in TRACKED_FIELDS]
            out.append(RecordDiff(index=i, record_id=record.record_id, fields=fields))
        else:
            out.append(diff_record(record, against=original, index=i))
    return out


def _weight(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"


def render_change(change: CriterionChange) -> list[str]:
    """Human-readable lines for one criterion change."""
    if change.kind == "added":
        return [f"  + added criterion {change.criterion!r} (weight {_weight(change.new_weight)})"]
    if change.kind == "removed":
        return [f"  - removed criterion {change.criterion!r} (weight {_weight(change.old_weight)})"]
    lines = []
    if change.kind == "renamed":
        lines.append(f"  ~ renamed {change.old_name!r} -> {change.criterion!r}")
    if change.weight_changed:
        lines.append(
            f"  ~ {change.criterion!r}: weight {_weight(change.old_weight)} -> {_weight(change.new_weight)}"
        )
    for level, (old, new) in change.cells.items():
        lines.append(f"  ~ {change.criterion!r}, level {level!r}:")
        lines += [f"      - {old}" if old is not None else "      - (absent)"]
        lines += [f"      + {new}" if new is not None else "      + (absent)"]
    lines += [f"  ~ {change.criterion!r}: checklist + {item}" for item in change.checklist_added]
    lines += [f"  ~ {change.criterion!r}: checklist - {item}" for item in change.checklist_removed]
    return lines


def render_diffs(diffs: Sequence[RecordDiff], *, show_unchanged: bool = False) -> str:
    """The text `rubric_eval diff` prints: one block per edited field, then totals."""
    lines: list[str] = []
    counts = dict.fromkeys(TRACKED_FIELDS, 0)
    no_draft = dict.fromkeys(TRACKED_FIELDS, 0)
    for diff in diffs:
        for field in diff.fields:
            no_draft[field.field] += field.status == "no_draft"
            if field.status != "changed" and not (show_unchanged and field.status == "unchanged"):
                continue
            counts[field.field] += field.status == "changed"
            by = f" by {field.draft_config}" if field.draft_config else ""
            on = f" on {field.draft_date}" if field.draft_date else ""
            lines.append(
                f"record {diff.index} (id={diff.record_id}): {field.field} "
                f"[{field.source or 'unknown'}; LLM draft{by}{on}]: {field.status}"
            )
            if field.levels_added:
                lines.append(f"  + levels added: {', '.join(field.levels_added)}")
            if field.levels_removed:
                lines.append(f"  - levels removed: {', '.join(field.levels_removed)}")
            if field.order_changed:
                lines.append("  ~ criteria reordered")
            for change in field.changes:
                lines += render_change(change)
    totals = ", ".join(f"{counts[f]} {f}" for f in TRACKED_FIELDS)
    lines.append(f"{len(diffs)} records; edited against the LLM draft: {totals}")
    missing = ", ".join(f"{no_draft[f]} {f}" for f in TRACKED_FIELDS if no_draft[f])
    if missing:
        lines.append(f"no LLM draft to compare with: {missing}")
    return "\n".join(lines)
