"""`rubric_eval generate_report`: the markdown report (and its JSON twin) of an evaluations file."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from rubric_eval.cli._options import engine_options, engine_settings_from, input_path

F = TypeVar("F", bound=Callable[..., Any])


def report_options(func: F) -> F:
    """Flags shared by generate_report and the one-step commands."""
    decorators = [
        click.option(
            "--summarizer_configs",
            default=None,
            help="Summariser of strengths and weaknesses: a built-in config name, a YAML path, "
            "provider/model (default: gpt-5-mini), or None to skip the summary.",
        ),
        click.option(
            "--summarize",
            type=click.BOOL,
            default=True,
            show_default=True,
            help="Summarise the judge's feedback into Pro/Con lists (False: no summariser call).",
        ),
        click.option(
            "--summary_context_tokens",
            type=click.IntRange(min=1000),
            default=None,
            help="Context budget per summariser call (tokens estimated as characters/4); "
            "larger feedback sets are summarised in chunks and merged. Default 12000.",
        ),
        click.option(
            "--leaderboard_path",
            default=None,
            help="Leaderboard JSON file to update and show (default: leaderboard.json beside the report; "
            "None: no leaderboard file, rank only the models in this input).",
        ),
        click.option(
            "--audit_path",
            type=click.Path(dir_okay=False, path_type=Path),
            default=None,
            help="An audit.json from `rubric_eval audit`, shown as the report's audit section.",
        ),
        click.option(
            "--meta_evaluation_path",
            type=click.Path(dir_okay=False, path_type=Path),
            default=None,
            help="A meta_evaluation.json from `rubric_eval meta_evaluate`, shown in the report.",
        ),
        click.option(
            "--dataset_name",
            default=None,
            help="Dataset name in the report and leaderboard (default: the records' dataset_name field, "
            "else a name derived from the set of instructions).",
        ),
    ]
    for decorator in reversed(decorators):
        func = decorator(func)
    return func


def report_kwargs(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Pop the report flags from a command's kwargs as `pipeline.run_one_step` keyword arguments."""
    from rubric_eval._config import is_none

    board = kwargs.pop("leaderboard_path")
    return {
        "summarizer": kwargs.pop("summarizer_configs"),
        "summarize": kwargs.pop("summarize"),
        "context_tokens": kwargs.pop("summary_context_tokens"),
        "leaderboard_path": "default" if board is None else (None if is_none(board) else Path(board)),
        "dataset": kwargs.pop("dataset_name"),
        **trust_sections(kwargs.pop("audit_path"), kwargs.pop("meta_evaluation_path")),
    }


def trust_sections(audit_path: Path | None, meta_path: Path | None) -> dict[str, Any]:
    """The audit and meta-evaluation files as `generate_report` arguments (read before any LLM call)."""
    from rubric_eval.trust import AuditReport, MetaEvaluation, read_json_model

    return {
        "audit": None if audit_path is None else read_json_model(audit_path, AuditReport, "an audit"),
        "meta_evaluation": None
        if meta_path is None
        else read_json_model(meta_path, MetaEvaluation, "a meta-evaluation"),
    }


def print_report(report: Any, md_path: Path | None, json_path: Path, html_path: Path | None = None) -> None:
    """Print the scores, where the report went, and the leaderboard."""
    from rubric_eval._text import fmt_ci, fmt_number
    from rubric_eval.reporting import print_leaderboard

    for model in report.models:
        s = model.score
        ci = fmt_ci(s.ci_low, s.ci_high)
        click.echo(
            f"{model.model}: score {fmt_number(s.mean)} ± {fmt_number(s.sem)} (SEM), 95% CI {ci}, "
            f"n = {s.n}, unscored = {s.n_unscored}"
        )
        if not model.complete:
            click.secho(
                f"  {model.status} (run {model.run.run_id}): not ranked on the leaderboard", fg="yellow"
            )
        if model.summary.status != "ok":
            click.echo(f"  summary: {model.summary.status}: {model.summary.reason}")
    click.echo("wrote " + ", ".join(str(p) for p in (md_path, json_path, html_path) if p is not None))
    where = f" ({report.leaderboard_path})" if report.leaderboard_path else ""
    title = f"Leaderboard: {report.dataset}, judge {', '.join(report.evaluators)}{where}"
    print_leaderboard(report.leaderboard, title=title)
    for note in report.notes:  # e.g. models on other instruction sets, which this leaderboard leaves out
        click.secho(f"note: {note}", fg="yellow")


REPORT_FORMATS = ("markdown", "json", "html")


def report_paths(output_path: Path | None, input_path: Path, formats: tuple[str, ...]) -> dict[str, Path]:
    """Where each format goes: ``--output_path`` names the markdown (or, without markdown, the HTML or JSON)
    file; the others are written beside it with their own suffix. The JSON twin is always written."""
    from rubric_eval.reporting import html_path_for, json_twin_path

    chosen = set(formats or ("markdown",))
    suffix = ".md" if "markdown" in chosen else ".html" if "html" in chosen else ".json"
    main = output_path or input_path.parent / f"evaluation_report{suffix}"
    if "markdown" in chosen:
        paths = {"markdown": main, "json": json_twin_path(main)}  # rejects a .json markdown path
    elif main.suffix.lower() in {".html", ".htm", ".json"}:
        paths = {"json": main.with_suffix(".json")}
    else:
        paths = {"json": json_twin_path(main)}
    if "html" in chosen:
        paths["html"] = main if main.suffix.lower() in {".html", ".htm"} else html_path_for(main)
    return paths


@click.command()
@input_path(help="Evaluations file (from `rubric_eval evaluate`).")
@click.option(
    "--output_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Report path (default: evaluation_report.md beside the input, or .html / .json when markdown is "
    "not among the formats); the other formats and the JSON twin with every number are written beside it.",
)
@click.option(
    "--format",
    "formats",
    type=click.Choice(REPORT_FORMATS),
    multiple=True,
    help="Report format, repeatable: markdown (default), html (one self-contained page that works offline: "
    "leaderboard, per-category plots, every answer with its rubric and feedback), json (only the JSON twin).",
)
@click.option(
    "--baseline",
    default=None,
    help="Also test every model against this one (paired, Holm-corrected).",
)
@click.option(
    "--overwrite",
    is_flag=True,
    default=False,
    help="Replace a report written for other models or judges.",
)
@report_options
@engine_options
def generate_report(
    input_path: Path,
    output_path: Path | None,
    formats: tuple[str, ...],
    baseline: str | None,
    overwrite: bool,
    **kwargs: Any,
) -> None:
    """Write the evaluation report: score ± SEM, CI, per-category scores, leaderboard, Pro/Con.

    Summarises the judge's feedback first (its own step; --summarize False skips it), then computes the
    report, adds its runs to the leaderboard file and writes the chosen formats and the JSON twin.
    """
    import gc

    from rubric_eval.engine import Engine
    from rubric_eval.pipeline import (
        guard_file,
        read_runs,
        report_evaluations,
        skipped_summaries,
        summarize_evaluations,
        summary_skipped_because,
    )
    from rubric_eval.reporting import LEADERBOARD_FILE, iter_report_records, read_report_summary, write_html

    paths = report_paths(output_path, input_path, formats)  # reject a bad report path before any work
    options = report_kwargs(kwargs)
    skipped = summary_skipped_because(summarizer=options["summarizer"], summarize=options["summarize"])
    # What is loaded now lives to the end: keep the collector off it, and collect less often (each record's
    # objects are freed by reference counting; few cycles): ~5% of the command's CPU.
    gc.freeze()
    gc.set_threshold(20_000, 50, 50)
    # One pass over the file into a compact summary (bad input is refused here, before any summariser
    # call); the answers are spilled for the JSON twin. Nothing holds all the records.
    evaluations = read_report_summary(input_path)
    models, judges = frozenset(evaluations.models), evaluations.evaluators
    runs = read_runs(input_path, evaluations.run_ids)
    main = paths.get("markdown") or paths["json"]
    guard_file(main, models=models, judges=judges, overwrite=overwrite, report=True)
    if skipped is None:  # the summariser reads each graded answer's feedback: a second pass
        summaries, summarizer = summarize_evaluations(
            iter_report_records(input_path),
            summarizer=options["summarizer"],
            summarize=options["summarize"],
            engine=Engine(engine_settings_from(kwargs)),
            context_tokens=options["context_tokens"],
        )
    else:
        summaries, summarizer = skipped_summaries(models, skipped), None
    board = options["leaderboard_path"]
    report = report_evaluations(
        evaluations,
        runs=runs,
        summaries=summaries,
        summarizer=summarizer,
        dataset=options["dataset"],
        audit=options["audit"],
        meta_evaluation=options["meta_evaluation"],
        leaderboard_path=main.parent / LEADERBOARD_FILE if board == "default" else board,
        baseline=baseline,
        source=str(input_path),
    )
    if "markdown" in paths:
        report.write(paths["markdown"])
    else:
        report.write_json(paths["json"])
    if "html" in paths:
        # The page embeds every answer with its feedback: a second pass over the file keeps just that.
        write_html(report, iter_report_records(input_path), paths["html"], source=str(input_path))
    print_report(report, paths.get("markdown"), paths["json"], paths.get("html"))
