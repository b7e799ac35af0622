"""Quality measures for a rubric benchmark (used by test_quality.py; run as a script for the report).

    python -m tests.data_checks.quality            # both built-in versions
    python -m tests.data_checks.quality FILE ...   # any record file or folder

Definitions (kept deliberately mechanical, so that two people get the same numbers):

- A criterion is **generic** when its name, lower-cased and split into words, has no word outside
  `GENERIC_WORDS` (quality words such as "clarity", "accuracy", "structure", plus linking words). "Clarity and
  structure" is generic; "Clarity of the dosing advice" is not, because "dosing" and "advice" name the task.
- A level cell has a **concrete anchor** when it contains at least one of: a digit (a count, value or
  threshold: "2 of the 3", "0.028", "under 150 words"); a quoted or code span ("...", `...`, '...' with at
  least 2 characters inside); a number word ("one" ... "twelve", "both", "none", "zero", "half"); an acronym
  of 2+ capital letters (a named guideline, test or tool: "NICE", "ISA", "CI"); or a code identifier (a named
  step: `round()`, `CycleError`, `total_cents`, `.cycle`). A cell like "mostly tight, with a few generic
  beats" has none.
- A criterion whose best cell anchors on an exact value (a decimal number or "≈") must say "equivalent" or
  "rounding" (or a tolerance "±") in one of its cells, so a correct answer by another method or rounding is not marked down.
- A cell is **empty** when it has fewer than 4 words; it **copies its neighbour** when it equals the adjacent
  level's cell after lower-casing and collapsing whitespace, or is 95% similar to it (difflib ratio) with the
  same numbers (so "2 of the 3 cases" and "1 of the 3 cases" differ: a grader can tell them apart).
"""

from __future__ import annotations

import difflib
import re
import sys
from collections import Counter
from dataclasses import dataclass, field

from rubric_eval import Record
from rubric_eval.datasets import load_benchmark

GENERIC_WORDS = frozenset(
    """
    clarity clear clearly accuracy accurate correctness correct completeness complete thoroughness thorough
    quality overall relevance relevant helpfulness helpful useful usefulness structure structured
    organization organisation organized organised presentation style tone formatting format coherence
    coherent depth detail details detailed creativity creative originality original readability readable
    conciseness concise communication writing response answer content understanding explanation reasoning
    engagement engaging adherence instruction instructions following fluency grammar language logic
    logical insight insightful effectiveness effective appropriateness appropriate consistency consistent
    and of the a an to in with on for its overall general
    """.split()  # noqa: SIM905 (a word list reads better as text)
)
NUMBER_WORDS = frozenset(
    "one two three four five six seven eight nine ten eleven twelve both none zero half".split()  # noqa: SIM905
)
_QUOTED = re.compile(r"`[^`]+`|\"[^\"]{2,}\"|“[^”]{2,}”|(?<![A-Za-z])'[^']{2,}'(?![A-Za-z])")
_ACRONYM = re.compile(r"\b[A-Z][A-Z0-9]*[A-Z]\b")
_DIGIT = re.compile(r"\d")
_IDENTIFIER = re.compile(r"\w+\(\)|\b[a-z]+_[a-z0-9_]+\b|\b[A-Z][a-z]+[A-Z]\w*\b|(?<![\w.])\.[a-z_]\w*")
_DECIMAL = re.compile(r"\d\.\d|≈")
_EQUIVALENT = re.compile(r"equivalent|rounding|±", re.IGNORECASE)
_NUMBERS = re.compile(r"\d+(?:\.\d+)?")
MIN_CELL_WORDS = 4
NEAR_COPY = 0.95


def is_generic(criterion: str) -> bool:
    words = re.findall(r"[a-z]+", criterion.lower())
    return all(w in GENERIC_WORDS for w in words)


def has_anchor(cell: str) -> bool:
    if any(p.search(cell) for p in (_DIGIT, _QUOTED, _ACRONYM, _IDENTIFIER)):
        return True
    return any(w in NUMBER_WORDS for w in re.findall(r"[a-z]+", cell.lower()))


def _norm(text: str) -> str:
    return " ".join(text.lower().split())


def _numbers(text: str) -> list[str]:
    words = re.findall(r"[a-z]+", text.lower())
    return _NUMBERS.findall(text) + [w for w in words if w in NUMBER_WORDS]


def copies(a: str, b: str) -> float | None:
    """How alike two neighbouring cells are, when one copies the other (else None)."""
    if _norm(a) == _norm(b):
        return 1.0
    ratio = difflib.SequenceMatcher(None, _norm(a), _norm(b)).ratio()
    return ratio if ratio >= NEAR_COPY and _numbers(a) == _numbers(b) else None


@dataclass
class Quality:
    """The measures of one benchmark; `problems` lists what breaks a hard rule."""

    n_records: int = 0
    per_category: Counter[str] = field(default_factory=Counter)
    n_criteria: int = 0
    generic: list[str] = field(default_factory=list)
    n_cells: int = 0
    n_anchored: int = 0
    n_middle_cells: int = 0  # good and fair: where v1's vague cells were
    n_middle_anchored: int = 0
    exact_without_equivalent: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def generic_share(self) -> float:
        return len(self.generic) / self.n_criteria if self.n_criteria else 0.0

    @property
    def anchored_share(self) -> float:
        return self.n_anchored / self.n_cells if self.n_cells else 0.0

    @property
    def middle_anchored_share(self) -> float:
        return self.n_middle_anchored / self.n_middle_cells if self.n_middle_cells else 0.0

    def lines(self, name: str) -> list[str]:
        cats = ", ".join(f"{c} {n}" for c, n in sorted(self.per_category.items()))
        return [
            f"{name}: {self.n_records} records in {len(self.per_category)} categories ({cats})",
            f"  criteria: {self.n_criteria}; generic: {len(self.generic)} ({self.generic_share:.1%})"
            + (f": {self.generic}" if self.generic else ""),
            f"  level cells: {self.n_cells}; with a concrete anchor: {self.n_anchored} ({self.anchored_share:.1%});"
            f" good/fair cells: {self.n_middle_anchored} of {self.n_middle_cells} ({self.middle_anchored_share:.1%})",
            f"  criteria anchored on an exact value without 'equivalent'/'rounding': "
            f"{len(self.exact_without_equivalent)}",
            f"  hard-rule problems (weights, empty or copied cells): {len(self.problems)}",
        ]


def measure(records: list[Record]) -> Quality:
    q = Quality(n_records=len(records))
    for record in records:
        q.per_category[record.category or "(none)"] += 1
        if record.rubric is None:
            q.problems.append(f"{record.id}: no rubric")
            continue
        total = sum(row.weight for row in record.rubric.criteria)
        if abs(total - 100) > 1e-9:
            q.problems.append(f"{record.id}: weights sum to {total}, not 100")
        for row in record.rubric.criteria:
            q.n_criteria += 1
            where = f"{record.id} / {row.criterion!r}"
            if row.weight <= 0:
                q.problems.append(f"{where}: weight {row.weight} is not positive")
            cells_text = " ".join(row.performance_to_description.values())
            if _DECIMAL.search(
                row.performance_to_description.get(row.levels[0], "")
            ) and not _EQUIVALENT.search(cells_text):
                q.exact_without_equivalent.append(where)
            if is_generic(row.criterion):
                q.generic.append(f"{record.id}: {row.criterion}")
            cells = [(level, row.performance_to_description.get(level, "")) for level in row.levels]
            for i, (level, text) in enumerate(cells):
                q.n_cells += 1
                q.n_anchored += has_anchor(text)
                if level in ("good", "fair"):
                    q.n_middle_cells += 1
                    q.n_middle_anchored += has_anchor(text)
                if len(text.split()) < MIN_CELL_WORDS:
                    q.problems.append(f"{where}: {level} cell is empty or too short: {text!r}")
                if i:
                    prev_level, prev = cells[i - 1]
                    ratio = copies(prev, text)
                    if ratio is not None:
                        q.problems.append(f"{where}: {level} cell copies {prev_level} ({ratio:.0%} alike)")
    return q


def main(argv: list[str]) -> int:
    names = argv or ["rubriceval_builtin_v1", "rubriceval_builtin_v2"]
    for name in names:
        print("\n".join(measure(load_benchmark(name)).lines(name)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
