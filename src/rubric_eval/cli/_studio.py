"""`rubric_eval studio`: review, edit and pilot brainstorms and rubrics in a local web app."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from rubric_eval.cli._options import engine_options, engine_settings_from, input_path


@click.command()
@input_path(help="Records with brainstormed_rubric and/or rubric (JSON list or JSONL); edited in place.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", type=click.IntRange(min=0, max=65535), default=0, help="Port (default: a free one).")
@click.option("--no_browser", is_flag=True, default=False, help="Print the URL without opening a browser.")
@click.option(
    "--levels",
    default=None,
    help="Expected level names, best first, comma-separated (default: those most of the file's rubrics use).",
)
@click.option(
    "--brainstormer_configs",
    default=None,
    help="Brainstormer for checklist suggestions: a built-in name, a YAML path, or provider/model.",
)
@click.option(
    "--rubric_generator_configs",
    default=None,
    help="Rubric generator for suggestions and drafts: a built-in name, a YAML path, or provider/model.",
)
@click.option(
    "--evaluator_configs",
    default=None,
    help="Judge for pilot grades: a built-in name, a YAML path, or provider/model.",
)
@engine_options
def studio(
    input_path: Path,
    host: str,
    port: int,
    no_browser: bool,
    levels: str | None,
    brainstormer_configs: str | None,
    rubric_generator_configs: str | None,
    evaluator_configs: str | None,
    **kwargs: Any,
) -> None:
    """Open the Rubric Studio: review one instruction at a time, edit its brainstorm or rubric as a
    table, ask the LLM for suggestions, pilot-grade answers, approve, and save (with provenance).

    Serves on 127.0.0.1 at a free port and prints the URL (with its access token).
    """
    from rubric_eval import resolve_config
    from rubric_eval.steps.rubrics import check_levels
    from rubric_eval.studio import run_studio

    expected = list(check_levels([lvl.strip() for lvl in levels.split(",")])) if levels else None
    run_studio(
        input_path,
        brainstormer=resolve_config("brainstormer", brainstormer_configs),
        rubric_generator=resolve_config("rubric_generator", rubric_generator_configs),
        evaluator=resolve_config("evaluator", evaluator_configs),
        settings=engine_settings_from(kwargs),
        levels=expected,
        host=host,
        port=port,
        open_browser=not no_browser,
        echo=lambda line: click.echo(line),
    )
