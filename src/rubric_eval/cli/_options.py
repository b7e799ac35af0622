"""Options shared by commands, so every LLM command spells its flags the same way."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])


class FiniteFloat(click.FloatRange):
    """A float range that also refuses NaN and infinity (``--timeout nan`` is a usage error)."""

    name = "finite float"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = super().convert(value, param, ctx)
        if number is not None and not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        return number


def input_path(
    required: bool = True, help: str = "Input JSON/JSONL file: a list of records."
) -> Callable[[F], F]:
    return click.option(
        "--input_path", type=click.Path(dir_okay=False, path_type=Path), required=required, help=help
    )


BENCHMARK_OPTION = click.option(
    "--benchmark",
    default=None,
    help="Built-in benchmark to answer when there is no --input_path: rubriceval_builtin_v1 (the default) "
    "or rubriceval_builtin_v2 (larger, harder; not yet expert-reviewed).",
)


def output_path(required: bool = True, help: str = "Where to write the records.") -> Callable[[F], F]:
    return click.option(
        "--output_path", type=click.Path(dir_okay=False, path_type=Path), required=required, help=help
    )


def engine_options(func: F) -> F:
    """Flags that configure the LLM engine; collected by `engine_settings_from`."""
    decorators = [
        click.option(
            "--max_concurrency",
            type=click.IntRange(min=1),
            default=None,
            help="Parallel calls per endpoint (default: the config's, else 16).",
        ),
        click.option(
            "--requests_per_minute",
            type=FiniteFloat(min=0, min_open=True),
            default=None,
            help="Client-side cap on requests per minute.",
        ),
        click.option(
            "--tokens_per_minute",
            type=FiniteFloat(min=0, min_open=True),
            default=None,
            help="Client-side cap on tokens per minute.",
        ),
        click.option(
            "--max_attempts",
            type=click.IntRange(min=1),
            default=None,
            help="Attempts per call on 429/5xx/timeouts (default 6).",
        ),
        click.option(
            "--max_parse_retries",
            type=click.IntRange(min=0),
            default=None,
            help="Re-asks after an answer that does not parse or validate (default 2).",
        ),
        click.option(
            "--timeout",
            "timeout_s",
            type=FiniteFloat(min=0, min_open=True),
            default=None,
            help="Per-call timeout in seconds.",
        ),
        click.option(
            "--cache_dir",
            type=click.Path(file_okay=False, path_type=Path),
            default=None,
            help="Cache folder (default: $RUBRIC_EVAL_CACHE_DIR, else the user cache directory).",
        ),
        click.option(
            "--no_cache", is_flag=True, default=False, help="Bypass the cache (nothing read or written)."
        ),
        click.option(
            "--max_cost",
            "max_cost_usd",
            type=FiniteFloat(min=0),
            default=None,
            help="Stop cleanly before spending more than this many USD.",
        ),
        click.option("--quiet", is_flag=True, default=False, help="No progress bar or progress lines."),
        click.option(
            "--dry_run",
            is_flag=True,
            default=False,
            help="Call nothing: print the calls to make, those already cached, input/output tokens, cost "
            "(live, --batch, with prompt caching) and time at the configured limits.",
        ),
        click.option(
            "--batch",
            is_flag=True,
            default=False,
            help="Send uncached calls through the provider's batch API (OpenAI, Anthropic): half price, "
            "results within 24 h; a killed run, rerun, resumes the same batches.",
        ),
        click.option(
            "--batch_poll",
            "batch_poll_s",
            type=click.FloatRange(min=0, min_open=True),
            default=None,
            help="Seconds between batch status checks (default 30).",
        ),
    ]
    for decorator in reversed(decorators):
        func = decorator(func)
    return func


ENGINE_OPTION_NAMES = (
    "max_concurrency",
    "requests_per_minute",
    "tokens_per_minute",
    "max_attempts",
    "max_parse_retries",
    "timeout_s",
    "cache_dir",
    "no_cache",
    "max_cost_usd",
    "quiet",
    "dry_run",
    "batch",
    "batch_poll_s",
)


def engine_settings_from(kwargs: dict[str, Any]) -> Any:
    """Pop the engine flags from a command's kwargs and build `EngineSettings`."""
    from rubric_eval.engine import EngineSettings

    values = {name: kwargs.pop(name) for name in ENGINE_OPTION_NAMES if name in kwargs}
    settings: dict[str, Any] = {
        k: v for k, v in values.items() if v is not None and k not in {"no_cache", "quiet"}
    }
    if values.get("no_cache"):
        settings["use_cache"] = False
    if values.get("quiet"):
        settings["progress"] = "quiet"
    return EngineSettings(**settings)


def echo_engine_totals(engine: Any) -> None:
    """Print the engine's run summary (calls, cache, batches, tokens, cost) after a command."""
    from rubric_eval.engine import totals_lines

    for line in totals_lines(engine.totals, engine.plan_check):
        click.echo(line)
