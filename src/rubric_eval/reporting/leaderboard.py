"""A persistent leaderboard: one row per (model, dataset, evaluator), with per-instruction scores.

The file is JSON, written atomically under a lock file. Keeping each row's per-instruction scores
(keyed by `instruction_key`) lets adjacent models be compared with a paired test over the
instructions both were graded on.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from rubric_eval._io import atomic_write_text
from rubric_eval._text import fmt_number
from rubric_eval.errors import InputError
from rubric_eval.reporting.scoring import (
    DEFAULT_ALPHA,
    DEFAULT_RESAMPLES,
    DEFAULT_SEED,
    paired_sign_flip_test,
)

LEADERBOARD_FILE = "leaderboard.json"
FORMAT_VERSION = 1


def instruction_key(instruction: str, record_id: object = None) -> str:
    """A stable key for one instruction: its id (when present) and a hash of its text."""
    digest = hashlib.sha256(instruction.strip().encode("utf-8")).hexdigest()[:16]
    return digest if record_id is None else f"{record_id}:{digest}"


class LeaderboardRow(BaseModel):
    """One model's result on one dataset with one judge."""

    model: str
    dataset: str
    evaluator: str
    score: float | None
    sem: float | None
    ci_low: float | None = None
    ci_high: float | None = None
    n: int
    n_unscored: int
    cost_usd: float | None = None
    date: str
    instruction_scores: dict[str, float] = Field(
        default_factory=dict, description="instruction_key -> instruction score (scored ones only)"
    )
    instruction_weights: dict[str, float] | None = Field(
        default=None, description="instruction_key -> weight, when instructions are weighted"
    )

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.model, self.dataset, self.evaluator)


class RankedRow(BaseModel):
    """A leaderboard row in rank order, with the paired comparison to the next row."""

    rank: int
    model: str
    dataset: str
    evaluator: str
    score: float | None
    sem: float | None
    ci_low: float | None
    ci_high: float | None
    n: int
    n_unscored: int
    cost_usd: float | None
    date: str
    n_paired_with_next: int | None = None
    p_value_vs_next: float | None = None
    above_next: bool | None = Field(
        default=None, description="Significantly above the next row (paired test); None for the last row."
    )


class Leaderboard(BaseModel):
    """The leaderboard file's content."""

    format_version: int = FORMAT_VERSION
    rows: list[LeaderboardRow] = Field(default_factory=list)

    def upsert(self, row: LeaderboardRow) -> None:
        """Add a row, replacing the row of the same (model, dataset, evaluator)."""
        self.rows = [r for r in self.rows if r.key != row.key] + [row]

    def select(self, dataset: str | None = None, evaluator: str | None = None) -> list[LeaderboardRow]:
        return [
            r
            for r in self.rows
            if (dataset is None or r.dataset == dataset) and (evaluator is None or r.evaluator == evaluator)
        ]


def load_leaderboard(path: str | os.PathLike[str]) -> Leaderboard:
    """Read a leaderboard file; a missing file is an empty leaderboard."""
    p = Path(path)
    if not p.exists():
        return Leaderboard()
    try:
        return Leaderboard.model_validate_json(p.read_text(encoding="utf-8"))
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or None
        raise InputError(
            f"not a rubric_eval leaderboard file: {first['msg']}", path=str(p), field=field
        ) from None
    except OSError as exc:
        raise InputError(f"cannot read the leaderboard: {exc}", path=str(p)) from None


def save_leaderboard(leaderboard: Leaderboard, path: str | os.PathLike[str]) -> None:
    atomic_write_text(path, leaderboard.model_dump_json(indent=2) + "\n")


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    # Serialise read-modify-write between processes sharing one leaderboard (POSIX; elsewhere best effort).
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(f".{path.name}.lock"), "a", encoding="utf-8") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def update_leaderboard(path: str | os.PathLike[str], rows: Sequence[LeaderboardRow]) -> Leaderboard:
    """Upsert rows into the file at `path` (created if missing) and return the new leaderboard."""
    p = Path(path)
    with _locked(p):
        leaderboard = load_leaderboard(p)
        for row in rows:
            leaderboard.upsert(row)
        save_leaderboard(leaderboard, p)
    return leaderboard


def _sort_key(row: LeaderboardRow) -> tuple[int, float, str]:
    return (row.score is None, -(row.score or 0.0), row.model)


def rank_rows(
    rows: Sequence[LeaderboardRow],
    *,
    alpha: float = DEFAULT_ALPHA,
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
) -> list[RankedRow]:
    """Sort by score (unscored last) and test each row against the next on their shared instructions."""
    ordered = sorted(rows, key=_sort_key)
    ranked: list[RankedRow] = []
    for i, row in enumerate(ordered):
        fields: dict[str, Any] = row.model_dump(exclude={"instruction_scores", "instruction_weights"})
        entry = RankedRow(rank=i + 1, **fields)
        if i + 1 < len(ordered) and row.score is not None and ordered[i + 1].score is not None:
            below = ordered[i + 1]
            shared = sorted(set(row.instruction_scores) & set(below.instruction_scores))
            weights = None
            if row.instruction_weights is not None:
                weights = [row.instruction_weights.get(k, 1.0) for k in shared]
            test = paired_sign_flip_test(
                [row.instruction_scores[k] for k in shared],
                [below.instruction_scores[k] for k in shared],
                weights,
                n_resamples=n_resamples,
                seed=seed,
            )
            entry.n_paired_with_next = test.n
            entry.p_value_vs_next = test.p_value
            entry.above_next = test.significant(alpha) if test.n >= 2 else None
        ranked.append(entry)
    return ranked


def above_next_text(row: RankedRow, alpha: float = DEFAULT_ALPHA) -> str:
    """'yes (p=0.003, n=80)', 'no (p=0.41, n=80)', 'n/a (...)' or '' for the last row."""
    if row.n_paired_with_next is None:
        return ""
    if row.above_next is None:
        return f"n/a (n paired = {row.n_paired_with_next})"
    verdict = "yes" if row.above_next else "no"
    return f"{verdict} (p={fmt_number(row.p_value_vs_next, 3)}, n paired={row.n_paired_with_next})"


def print_leaderboard(rows: Sequence[RankedRow], *, title: str | None = None, console: Any = None) -> None:
    """Print ranked rows as a rich table (to stdout unless a console is given)."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    if console is None:
        console = Console()
        if not console.is_terminal:
            console = Console(width=200)  # piped or captured: do not squeeze the table into 80 columns
    table = Table(title=title, title_justify="left")
    for name, justify in (
        ("#", "right"),
        ("Model", "left"),
        ("Score", "right"),
        ("SEM", "right"),
        ("95% CI", "right"),
        ("n", "right"),
        ("Unscored", "right"),
        ("Cost", "right"),
        ("Above next?", "left"),
    ):
        # rich types `justify` as a Literal; ours come from the literal tuple above.
        table.add_column(name, justify=justify, no_wrap=name != "Model", overflow="fold")  # type: ignore[arg-type]
    for row in rows:
        ci = "n/a" if row.ci_low is None else f"[{row.ci_low:.2f}, {row.ci_high or 0:.2f}]"
        table.add_row(
            str(row.rank),
            Text(row.model),  # a model name is not rich markup
            fmt_number(row.score),
            fmt_number(row.sem),
            ci,
            str(row.n),
            str(row.n_unscored),
            "n/a" if row.cost_usd is None else f"${row.cost_usd:.4f}",
            above_next_text(row),
        )
    console.print(table)
