"""`rubric_eval leaderboard`: list, filter, compare, remove and export the runs of a leaderboard file."""

from __future__ import annotations

from pathlib import Path

import click

STATUSES = ["complete", "incomplete", "partial", "interrupted", "budget_stopped", "failed"]


@click.command()
@click.option(
    "--leaderboard_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("leaderboard.json"),
    show_default=True,
    help="The leaderboard file (written by the one-step command and generate_report).",
)
@click.option("--dataset", default=None, help="Only this dataset (its name or fingerprint).")
@click.option("--judge", default=None, help="Only this judge (config name, model or judge key).")
@click.option("--model", default=None, help="Only this model.")
@click.option(
    "--status",
    type=click.Choice(STATUSES),
    default=None,
    help="Only runs with this status ('incomplete': every status but complete).",
)
@click.option(
    "--baseline",
    default=None,
    help="Also test every model against this one (paired sign-flip test, Holm-corrected).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "markdown", "csv", "json"]),
    default="table",
    show_default=True,
    help="table: printed; markdown and csv: exports (with --output_path, else to stdout); json: the views.",
)
@click.option(
    "--output_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the export here (atomically) instead of printing it.",
)
@click.option(
    "--remove",
    is_flag=True,
    default=False,
    help="Remove the runs matching the filters from the file (at least one filter is required).",
)
@click.option(
    "--n_resamples",
    type=click.IntRange(min=100),
    default=10_000,
    show_default=True,
    help="Resamples of the paired tests (seeded).",
)
def leaderboard(
    leaderboard_path: Path,
    dataset: str | None,
    judge: str | None,
    model: str | None,
    status: str | None,
    baseline: str | None,
    fmt: str,
    output_path: Path | None,
    remove: bool,
    n_resamples: int,
) -> None:
    """Show the leaderboard: one ranked table per (dataset, judge), each model's latest complete run.

    Runs that are not complete (partial, budget_stopped, interrupted, failed) never replace a complete
    one; they are listed after the ranked rows, unranked and flagged. Also shows every pair's paired test
    (Holm-corrected) and, with --baseline, each model against the baseline; and a model x category table.
    """
    from rubric_eval._io import atomic_write_text
    from rubric_eval.errors import InputError
    from rubric_eval.reporting import leaderboard_views, load_leaderboard, print_leaderboard
    from rubric_eval.reporting.exports import leaderboard_csv, leaderboard_markdown, view_markdown
    from rubric_eval.reporting.leaderboard import remove_from_leaderboard

    filters = {"dataset": dataset, "judge": judge, "model": model, "status": status}
    if not leaderboard_path.is_file():
        raise InputError("no leaderboard file here (run an evaluation first)", path=str(leaderboard_path))
    if remove:
        if not any(filters.values()):
            raise click.UsageError("--remove needs a filter (--model, --judge, --dataset or --status)")
        removed = remove_from_leaderboard(leaderboard_path, **filters)
        for run in removed:
            click.echo(f"removed {run.model} ({run.status_text}; judge {run.judge.name}; run {run.run_id})")
        click.echo(f"removed {len(removed)} runs from {leaderboard_path}")
        return
    runs = load_leaderboard(leaderboard_path).select(**filters)
    views = leaderboard_views(runs, baseline=baseline, n_resamples=n_resamples)
    if fmt == "table":
        if not views:
            click.echo("no runs match")
        for view in views:
            title = f"{view.dataset} ({view.dataset_fingerprint}), judge {view.judge}"
            print_leaderboard(view.rows, title=title)
            extra = view_markdown(view)
            start = next(
                (i for i, line in enumerate(extra) if line.startswith("Score per model")), len(extra)
            )
            click.echo("\n".join(extra[start:]))
        return
    if fmt == "csv":
        text = leaderboard_csv(views)
    elif fmt == "markdown":
        text = leaderboard_markdown(views, title=f"Leaderboard ({leaderboard_path.name})")
    else:
        text = "[" + ",\n".join(v.model_dump_json(indent=2) for v in views) + "]\n"
    if output_path is None:
        click.echo(text, nl=False)
    else:
        atomic_write_text(output_path, text)
        click.echo(f"wrote {output_path}")
