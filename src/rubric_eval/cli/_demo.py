"""`rubric_eval demo`: the whole pipeline offline, with the embedded local model."""

from __future__ import annotations

from pathlib import Path

import click


@click.command()
@click.option(
    "--output_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("rubric_eval_demo"),
    show_default=True,
    help="Folder for every file the demo writes (records of each step, report, leaderboard, cache).",
)
@click.option(
    "--n_instructions",
    type=click.IntRange(min=1),
    default=3,
    show_default=True,
    help="How many built-in instructions to run (one category after another).",
)
@click.option(
    "--model",
    default="smollm2-135m-instruct",
    show_default=True,
    help="The local model for every step: the embedded smollm2-135m-instruct or a path to a .gguf file.",
)
@click.option("--no_cache", is_flag=True, default=False, help="Do not read or write the demo's LLM cache.")
@click.option("--quiet", is_flag=True, default=False, help="No progress bars.")
def demo(output_dir: Path, n_instructions: int, model: str, no_cache: bool, quiet: bool) -> None:
    """Run brainstorm -> rubrics -> outputs -> evaluate -> report -> leaderboard offline, on this machine.

    Uses the embedded SmolLM2-135M-Instruct (the `local` extra): a model this small shows the pipeline
    and its files, not meaningful grades. Takes 1-3 minutes on 2 CPU cores; a rerun uses the cache.
    """
    from rubric_eval.cli._report import print_report
    from rubric_eval.demo import run_demo

    result = run_demo(
        output_dir,
        n_instructions=n_instructions,
        model=model,
        use_cache=not no_cache,
        progress="quiet" if quiet else "auto",
    )
    files = result.files
    for reason in result.dropped:
        click.secho(f"left out: {reason}", fg="yellow", err=True)
    print_report(result.report, files.report_markdown, files.report_json, files.report_html)
    totals = result.totals
    steps = ", ".join(f"{step} {seconds:.0f} s" for step, seconds in result.step_seconds.items())
    click.echo(
        f"demo: {result.n_evaluated} of {result.n_instructions} instructions evaluated with {result.model} "
        f"in {result.wall_s:.0f} s ({steps}); {totals.api_calls} model calls, {totals.cache_hits} from "
        f"the cache, {totals.input_tokens} tokens in, {totals.output_tokens} out"
    )
    click.secho(f"wrote everything to {output_dir.resolve()}/:", bold=True)
    written = [
        files.instructions,
        files.brainstorms,
        files.rubrics,
        files.outputs,
        files.evaluations,
        files.report_markdown,
        files.report_json,
        files.report_html,
        files.leaderboard,
    ]
    for path in written:
        click.echo(f"  {path.name}")
    if files.cache_dir is not None:
        click.echo(f"  {files.cache_dir.name}/ (LLM cache: a rerun repeats no call)")
    if result.embedded_model:
        click.echo(
            "A 135M model's grades are not meaningful: the report's first note says how to use a real one."
        )
