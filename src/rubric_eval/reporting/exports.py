"""Leaderboard views as markdown and CSV (for `rubric_eval leaderboard`)."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from rubric_eval._text import escape_cell, escape_inline, fmt_ci, fmt_number
from rubric_eval.reporting.leaderboard import LeaderboardView, PairComparison, above_next_text

CSV_COLUMNS = (
    "dataset",
    "dataset_fingerprint",
    "judge",
    "judge_key",
    "rank",
    "model",
    "status",
    "score",
    "sem",
    "ci_low",
    "ci_high",
    "n",
    "n_unscored",
    "n_instructions",
    "cost_usd",
    "p_value_vs_next",
    "above_next",
    "run_id",
    "date",
)


def leaderboard_csv(views: Sequence[LeaderboardView]) -> str:
    """One CSV row per leaderboard row, with its group's dataset and judge and one column per category."""
    categories = sorted({c for view in views for c in view.categories})
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*CSV_COLUMNS, *(f"category:{c}" for c in categories)])
    for view in views:
        for row in view.rows:
            values = {
                **row.model_dump(),
                "dataset": view.dataset,
                "dataset_fingerprint": view.dataset_fingerprint,
                "judge": view.judge,
                "judge_key": view.judge_key,
            }
            cells = ["" if values.get(col) is None else values[col] for col in CSV_COLUMNS]
            writer.writerow(
                [*cells, *("" if row.categories.get(c) is None else row.categories[c] for c in categories)]
            )
    return out.getvalue()


def _comparison_table(title: str, comparisons: Sequence[PairComparison], alpha: float) -> list[str]:
    if not comparisons:
        return []
    lines = [
        f"{title} (paired sign-flip test on shared instructions; Holm-adjusted over {len(comparisons)} "
        f"comparisons; significant when adjusted p < {alpha:g}):",
        "",
        "| Model A | Model B | Mean A - B | n paired | p | Holm p | Significant? |",
        "|---|---|---:|---:|---:|---:|---|",
    ]
    for c in comparisons:
        lines.append(
            f"| {escape_cell(c.model_a)} | {escape_cell(c.model_b)} | {fmt_number(c.mean_difference)} | "
            f"{c.n_paired} | {fmt_number(c.p_value, 3)} | {fmt_number(c.p_adjusted, 3)} | "
            f"{'yes' if c.significant else 'no'} |"
        )
    return [*lines, ""]


def view_markdown(view: LeaderboardView) -> list[str]:
    lines = [
        f"## {escape_inline(view.dataset)}, judge {escape_inline(view.judge)}",
        "",
        f"Dataset fingerprint `{view.dataset_fingerprint}`, judge `{escape_inline(view.judge_key)}`. "
        "Runs that are not complete are listed after the ranked ones, unranked.",
        "",
        "| Rank | Model | Status | Score | SEM | 95% CI | n | Unscored | Significantly above next? |",
        "|---:|---|---|---:|---:|---:|---:|---:|---|",
    ]
    for row in view.rows:
        ci = fmt_ci(row.ci_low, row.ci_high)
        rank = "-" if row.rank is None else str(row.rank)
        lines.append(
            f"| {rank} | {escape_cell(row.model)} | {escape_cell(row.status_text)} "
            f"| {fmt_number(row.score)} | {fmt_number(row.sem)} | {ci} | {row.n} | {row.n_unscored} | "
            f"{escape_cell(above_next_text(row, view.alpha))} |"
        )
    lines.append("")
    categories = view.categories
    if categories:
        lines += [
            "Score per model and category:",
            "",
            "| Model | " + " | ".join(escape_cell(c) for c in categories) + " |",
            "|---|" + "---:|" * len(categories),
        ]
        for row in view.rows:
            cells = " | ".join(fmt_number(row.categories.get(c)) for c in categories)
            # A flagged run is named with its status, as in the ranked table (not a second bare row).
            label = row.model + (f" ({row.status_text})" if row.flagged else "")
            lines.append(f"| {escape_cell(label)} | {cells} |")
        lines.append("")
    lines += _comparison_table("Every pair", view.pairwise, view.alpha)
    if view.baseline is not None:
        lines += _comparison_table(
            f"Against the baseline {escape_inline(view.baseline)}", view.vs_baseline, view.alpha
        )
    return lines


def leaderboard_markdown(views: Sequence[LeaderboardView], *, title: str = "Leaderboard") -> str:
    lines = [f"# {escape_inline(title)}", ""]
    if not views:
        lines.append("_No runs match._")
    for view in views:
        lines += view_markdown(view)
    return "\n".join(lines).rstrip() + "\n"
