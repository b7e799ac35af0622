"""The leaderboard: a view over stored run records, keyed by (dataset, judge, model).

The file (JSON, written atomically under a lock) stores run records (`rubric_eval.runs.RunRecord`). Per
key it keeps the latest complete run and, when a later run was not complete (judge down, stopped by
``--max_cost``, interrupted), that run too: a run that is not complete never replaces a complete one.
The view ranks the complete runs of one (dataset, judge) group, tests each against the next, every pair
(Holm-corrected) and against an optional baseline on their shared instructions, and lists the runs that
are not complete after them, unranked and flagged.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError, model_validator

from rubric_eval._io import atomic_write_text
from rubric_eval._text import fmt_ci, fmt_number
from rubric_eval.errors import InputError
from rubric_eval.reporting.scoring import (
    DEFAULT_ALPHA,
    DEFAULT_RESAMPLES,
    DEFAULT_SEED,
    holm_adjust,
    paired_sign_flip_tests,
)
from rubric_eval.runs import RunRecord, RunStatus

LEADERBOARD_FILE = "leaderboard.json"
FORMAT_VERSION = 2
CORRECTION: Literal["holm"] = "holm"


def instruction_key(instruction: str, record_id: object = None) -> str:
    """A stable key for one instruction: its id (when present) and a hash of its text."""
    digest = hashlib.sha256(instruction.strip().encode("utf-8")).hexdigest()[:16]
    return digest if record_id is None else f"{record_id}:{digest}"


def _legacy_run(index: int, row: dict[str, Any]) -> dict[str, Any]:
    """A format-1 row (model, dataset, evaluator, score, ...) as a run record."""
    n, n_unscored = int(row.get("n", 0)), int(row.get("n_unscored", 0))
    date = str(row.get("date", ""))
    dataset = str(row.get("dataset", "unknown dataset"))
    return {
        "run_id": f"legacy-{index}",
        "rubric_eval_version": "unknown",
        "status": "complete" if n_unscored == 0 and n > 0 else "partial",
        "counts": {"n_instructions": n + n_unscored, "n_scored": n, "n_unscored": n_unscored},
        "model": row.get("model"),
        "judge": {"name": row.get("evaluator", "unknown judge")},
        "dataset": {"name": dataset, "fingerprint": f"name:{dataset}", "n_instructions": n + n_unscored},
        "timing": {"started_at": date, "finished_at": date},
        "totals": {"answers_cost_usd": row.get("cost_usd") or 0.0},
        "results": {
            "score": {
                "mean": row.get("score"),
                "sem": row.get("sem"),
                "ci_low": row.get("ci_low"),
                "ci_high": row.get("ci_high"),
                "n": n,
                "n_unscored": n_unscored,
                "weighted": row.get("instruction_weights") is not None,
                "n_resamples": DEFAULT_RESAMPLES,
                "seed": DEFAULT_SEED,
            },
            "instruction_scores": row.get("instruction_scores") or {},
            "instruction_weights": row.get("instruction_weights"),
        },
    }


class Leaderboard(BaseModel):
    """The leaderboard file's content: run records."""

    format_version: int = FORMAT_VERSION
    runs: list[RunRecord] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _migrate(cls, data: Any) -> Any:
        if isinstance(data, dict) and "rows" in data and "runs" not in data:
            rows = data["rows"] if isinstance(data["rows"], list) else []
            runs = [_legacy_run(i, r) if isinstance(r, dict) else r for i, r in enumerate(rows)]
            return {"format_version": FORMAT_VERSION, "runs": runs}
        return data

    def add(self, run: RunRecord) -> None:
        """Add a run. A complete run replaces its key's runs; any other run replaces only the key's
        earlier incomplete run, so a complete result is never lost to a worse rerun."""
        if run.results is None:
            raise ValueError("a run without results cannot go on the leaderboard")
        if run.complete:
            self.runs = [r for r in self.runs if r.key != run.key]
        else:
            self.runs = [r for r in self.runs if r.key != run.key or r.complete]
        self.runs.append(run)

    def select(
        self,
        *,
        dataset: str | None = None,
        judge: str | None = None,
        model: str | None = None,
        status: str | None = None,
    ) -> list[RunRecord]:
        """Runs matching every given filter: dataset name or fingerprint, judge name or key, model,
        status (``complete``, ``incomplete`` or one status)."""
        return [r for r in self.runs if _matches(r, dataset=dataset, judge=judge, model=model, status=status)]

    def remove(self, **filters: str | None) -> list[RunRecord]:
        """Remove the runs matching the filters (see `select`); return them."""
        removed = self.select(**filters)
        ids = {id(r) for r in removed}
        self.runs = [r for r in self.runs if id(r) not in ids]
        return removed


def _matches(
    run: RunRecord, *, dataset: str | None, judge: str | None, model: str | None, status: str | None
) -> bool:
    if dataset is not None and dataset not in (run.dataset.name, run.dataset.fingerprint):
        return False
    if judge is not None and judge not in (run.judge.name, run.judge.key, run.judge.model):
        return False
    if model is not None and model != run.model:
        return False
    if status == "incomplete":
        return not run.complete
    return status is None or run.status == status


def load_leaderboard(path: str | os.PathLike[str]) -> Leaderboard:
    """Read a leaderboard file (format 1 files are read as run records); a missing file is empty."""
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


def update_leaderboard(path: str | os.PathLike[str], runs: Sequence[RunRecord]) -> Leaderboard:
    """Add runs to the file at `path` (created if missing) and return the new leaderboard."""
    p = Path(path)
    with _locked(p):
        leaderboard = load_leaderboard(p)
        for run in runs:
            leaderboard.add(run)
        save_leaderboard(leaderboard, p)
    return leaderboard


def remove_from_leaderboard(path: str | os.PathLike[str], **filters: str | None) -> list[RunRecord]:
    """Remove the runs matching the filters from the file at `path`; return them."""
    p = Path(path)
    with _locked(p):
        leaderboard = load_leaderboard(p)
        removed = leaderboard.remove(**filters)
        if removed:
            save_leaderboard(leaderboard, p)
    return removed


# -- the view ------------------------------------------------------------------------------------


class RankedRow(BaseModel):
    """A leaderboard row: a run in rank order, with the paired comparison to the next ranked row.

    Runs that are not complete have ``rank`` None and ``flagged`` True; they are listed after the
    ranked ones and never compared.
    """

    rank: int | None
    model: str
    dataset: str
    evaluator: str = Field(description="The judge's config name.")
    judge_key: str
    status: RunStatus
    status_text: str = Field(description="'complete' or e.g. 'partial: 4 of 41 scored'.")
    flagged: bool
    score: float | None
    sem: float | None
    ci_low: float | None
    ci_high: float | None
    n: int
    n_unscored: int
    n_instructions: int
    cost_usd: float | None = Field(description="What the judge answers cost (None: a price is unknown).")
    date: str
    run_id: str
    categories: dict[str, float | None] = Field(default_factory=dict, description="category -> mean score")
    n_paired_with_next: int | None = None
    p_value_vs_next: float | None = None
    above_next: bool | None = Field(
        default=None, description="Significantly above the next row (paired test); None for the last row."
    )


class PairComparison(BaseModel):
    """A paired sign-flip test of model ``a`` against model ``b`` on the instructions both were graded on."""

    model_a: str
    model_b: str
    n_paired: int
    mean_difference: float | None = Field(description="Mean of a - b (weighted when instructions are).")
    p_value: float | None
    p_adjusted: float | None = Field(description="Holm-adjusted over the comparisons of its family.")
    significant: bool = Field(description="p_adjusted < alpha.")


class LeaderboardView(BaseModel):
    """One (dataset, judge) group of the leaderboard: ranked rows and their comparisons."""

    dataset: str
    dataset_fingerprint: str
    judge: str
    judge_key: str
    rows: list[RankedRow]
    alpha: float = DEFAULT_ALPHA
    correction: Literal["holm"] = CORRECTION
    pairwise: list[PairComparison] = Field(
        default_factory=list, description="Every pair of ranked rows; Holm-corrected over all pairs."
    )
    baseline: str | None = None
    vs_baseline: list[PairComparison] = Field(
        default_factory=list, description="Each ranked row against the baseline; Holm-corrected over these."
    )

    @property
    def categories(self) -> list[str]:
        return sorted({c for row in self.rows for c in row.categories})


def _sort_key(run: RunRecord) -> tuple[int, float, str]:
    score = run.results.score.mean if run.results is not None else None
    return (score is None, -(score or 0.0), run.model)


def _row(run: RunRecord, rank: int | None) -> RankedRow:
    assert run.results is not None
    s = run.results.score
    cost = None if run.totals.n_unpriced_calls else run.totals.answers_cost_usd
    return RankedRow(
        rank=rank,
        model=run.model,
        dataset=run.dataset.name,
        evaluator=run.judge.name,
        judge_key=run.judge.key,
        status=run.status,
        status_text=run.status_text,
        flagged=not run.complete,
        score=s.mean,
        sem=s.sem,
        ci_low=s.ci_low,
        ci_high=s.ci_high,
        n=s.n,
        n_unscored=s.n_unscored,
        n_instructions=run.counts.n_instructions,
        cost_usd=cost,
        date=run.timing.finished_at,
        run_id=run.run_id,
        categories={c.category: c.mean for c in run.results.categories},
    )


def _paired_scores(a: RunRecord, b: RunRecord) -> tuple[list[float], list[float], list[float] | None]:
    assert a.results is not None and b.results is not None
    shared = sorted(set(a.results.instruction_scores) & set(b.results.instruction_scores))
    weights = None
    if a.results.instruction_weights is not None:
        weights = [a.results.instruction_weights.get(k, 1.0) for k in shared]
    return (
        [a.results.instruction_scores[k] for k in shared],
        [b.results.instruction_scores[k] for k in shared],
        weights,
    )


def compare_runs(
    a: RunRecord, b: RunRecord, *, n_resamples: int, seed: int
) -> tuple[int, float | None, float | None]:
    """(n paired, mean difference, p) of a paired sign-flip test of a vs b on their shared instructions."""
    (test,) = paired_sign_flip_tests([_paired_scores(a, b)], n_resamples=n_resamples, seed=seed)
    return test.n, test.mean_difference, test.p_value


_Tests = dict[tuple[int, int], tuple[int, float | None, float | None]]


def _compare_all(
    pairs: Sequence[tuple[RunRecord, RunRecord]], *, n_resamples: int, seed: int, known: _Tests | None = None
) -> _Tests:
    """`compare_runs` of every pair (keyed by the runs' ids), tested together; ``known`` ones are reused."""
    known = dict(known or {})
    todo = list({(id(a), id(b)): (a, b) for a, b in pairs if (id(a), id(b)) not in known}.items())
    tests = paired_sign_flip_tests(
        [_paired_scores(a, b) for _, (a, b) in todo], n_resamples=n_resamples, seed=seed
    )
    for (key, _), test in zip(todo, tests, strict=True):
        known[key] = (test.n, test.mean_difference, test.p_value)
    return known


def _comparisons(
    pairs: Sequence[tuple[RunRecord, RunRecord]], *, alpha: float, tests_by_pair: _Tests
) -> list[PairComparison]:
    tests = [tests_by_pair[id(a), id(b)] for a, b in pairs]
    adjusted = holm_adjust([p if n >= 2 else None for n, _, p in tests])
    comparisons = []
    for (a, b), (n, diff, p), adj in zip(pairs, tests, adjusted, strict=True):
        comparisons.append(
            PairComparison(
                model_a=a.model,
                model_b=b.model,
                n_paired=n,
                mean_difference=diff,
                p_value=p,
                p_adjusted=adj,
                significant=adj is not None and adj < alpha,
            )
        )
    return comparisons


def rank_runs(
    runs: Sequence[RunRecord],
    *,
    alpha: float = DEFAULT_ALPHA,
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
) -> list[RankedRow]:
    """Complete runs by score (unscored last), each tested against the next; then the others, flagged."""
    return _rank_runs(runs, alpha=alpha, n_resamples=n_resamples, seed=seed, tests_by_pair={})


def _rank_runs(
    runs: Sequence[RunRecord], *, alpha: float, n_resamples: int, seed: int, tests_by_pair: _Tests
) -> list[RankedRow]:
    ranked_runs = sorted((r for r in runs if r.complete and r.results is not None), key=_sort_key)
    neighbours = [
        (run, below)
        for run, below in itertools.pairwise(ranked_runs)
        if run.results is not None
        and run.results.score.mean is not None
        and below.results is not None
        and below.results.score.mean is not None
    ]
    tests_by_pair = _compare_all(neighbours, n_resamples=n_resamples, seed=seed, known=tests_by_pair)
    rows: list[RankedRow] = []
    for i, run in enumerate(ranked_runs):
        entry = _row(run, i + 1)
        below = ranked_runs[i + 1] if i + 1 < len(ranked_runs) else None
        if (
            below is not None
            and entry.score is not None
            and below.results
            and below.results.score.mean is not None
        ):
            n, diff, p = tests_by_pair[id(run), id(below)]
            entry.n_paired_with_next, entry.p_value_vs_next = n, p
            entry.above_next = (
                (p is not None and diff is not None and diff > 0 and p < alpha) if n >= 2 else None
            )
        rows.append(entry)
    others = sorted((r for r in runs if not r.complete and r.results is not None), key=_sort_key)
    return rows + [_row(r, None) for r in others]


def group_key(run: RunRecord) -> tuple[str, str]:
    """The (instruction set, judge) a run is ranked within: one leaderboard view per key."""
    return run.dataset.fingerprint, run.judge.key


def leaderboard_views(
    runs: Sequence[RunRecord],
    *,
    baseline: str | None = None,
    pairwise: bool = True,
    alpha: float = DEFAULT_ALPHA,
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
) -> list[LeaderboardView]:
    """One view per (dataset, judge) group, largest group first."""
    groups: dict[tuple[str, str], list[RunRecord]] = {}
    for run in runs:
        groups.setdefault(group_key(run), []).append(run)
    views = []
    for (fingerprint, judge_key), members in groups.items():
        ranked = sorted((r for r in members if r.complete and r.results is not None), key=_sort_key)
        base = next((r for r in ranked if r.model == baseline), None)
        all_pairs = list(itertools.combinations(ranked, 2)) if pairwise else []
        base_pairs = [(r, base) for r in ranked if r is not base] if base is not None else []
        # Every test of the view at once: same-size pairs share one matrix product.
        tests = _compare_all(all_pairs + base_pairs, n_resamples=n_resamples, seed=seed)
        rows = _rank_runs(members, alpha=alpha, n_resamples=n_resamples, seed=seed, tests_by_pair=tests)
        view = LeaderboardView(
            dataset=members[-1].dataset.name,
            dataset_fingerprint=fingerprint,
            judge=members[-1].judge.name,
            judge_key=judge_key,
            rows=rows,
            alpha=alpha,
            baseline=baseline,
        )
        if pairwise:
            view.pairwise = _comparisons(all_pairs, alpha=alpha, tests_by_pair=tests)
        if base is not None:
            view.vs_baseline = _comparisons(base_pairs, alpha=alpha, tests_by_pair=tests)
        views.append(view)
    return sorted(views, key=lambda v: (-len(v.rows), v.dataset, v.judge))


def above_next_text(row: RankedRow, alpha: float = DEFAULT_ALPHA) -> str:
    """'yes (p=0.003, n=80)', 'no (p=0.41, n=80)', 'n/a (...)', the status of a flagged row, or ''."""
    if row.flagged:
        return f"not ranked ({row.status_text})"
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
        ci = fmt_ci(row.ci_low, row.ci_high)
        table.add_row(
            "-" if row.rank is None else str(row.rank),
            Text(row.model + (f" ({row.status_text})" if row.flagged else "")),  # not rich markup
            fmt_number(row.score),
            fmt_number(row.sem),
            ci,
            str(row.n),
            str(row.n_unscored),
            "n/a" if row.cost_usd is None else f"${row.cost_usd:.4f}",
            above_next_text(row),
        )
    console.print(table)
