"""The `rubric_eval` command line.

Commands live in their own modules and are imported only when invoked, so
``--help`` and ``validate`` start fast. Flags accept ``--flag=value`` and
``--flag value``, with underscores or dashes.
"""

from __future__ import annotations

import importlib
import logging
import signal
import sys
import threading
from typing import Any

import click

from rubric_eval.errors import DryRun, RubricEvalError

# command name -> "module:attribute"; each helper module defines one click command.
COMMANDS: dict[str, str] = {
    "validate": "rubric_eval.cli._validate:validate",
    "brainstorm_rubrics": "rubric_eval.cli._create:brainstorm_rubrics",
    "generate_rubrics": "rubric_eval.cli._create:generate_rubrics",
    "brainstorm_and_generate_rubrics": "rubric_eval.cli._create:brainstorm_and_generate_rubrics",
    "generate_outputs": "rubric_eval.cli._create:generate_outputs",
    "diff": "rubric_eval.cli._create:diff",
    "evaluate": "rubric_eval.cli._evaluate:evaluate",
    "generate_report": "rubric_eval.cli._report:generate_report",
    "run": "rubric_eval.cli._run:run",
    "evaluate_and_generate_report": "rubric_eval.cli._run:evaluate_and_generate_report",
    "demo": "rubric_eval.cli._demo:demo",
    "meta_evaluate": "rubric_eval.cli._trust:meta_evaluate",
    "audit": "rubric_eval.cli._trust:audit",
    "studio": "rubric_eval.cli._studio:studio",
    "leaderboard": "rubric_eval.cli._leaderboard:leaderboard",
}
# `rubric_eval --input_path=...` (no command) runs this one.
DEFAULT_COMMAND = "run"


def _normalize(token: str) -> str:
    return token.replace("-", "_")


class _LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(_normalize(cmd_name))
        if target is None:
            return None
        module_name, _, attr = target.partition(":")
        command = getattr(importlib.import_module(module_name), attr)
        assert isinstance(command, click.Command)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # click cuts each line to fit beside the longest name (brainstorm_and_generate_rubrics),
        # leaving "Re-grade a sample under controlled..."; write each command's whole first
        # sentence and let the formatter wrap it.
        rows = []
        for name in self.list_commands(ctx):
            command = self.get_command(ctx, name)
            if command is not None and not command.hidden:
                rows.append((name, command.get_short_help_str(limit=10_000)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        # The seed README's one-step form has no command name: `rubric_eval --input_path=x`.
        if (
            args
            and args[0].startswith("--")
            and args[0] not in {"--help", "--version"}
            and (DEFAULT_COMMAND in COMMANDS)
        ):
            args = [DEFAULT_COMMAND, *args]
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except DryRun as plan:  # --dry_run: the plan is the command's output
            for line in plan.lines:
                click.echo(line)
            ctx.exit(0)
        except RubricEvalError as exc:
            click.secho(f"Error: {exc}", fg="red", err=True)
            ctx.exit(2)
        except KeyboardInterrupt:  # Ctrl-C, or SIGTERM through `_terminate`
            terminated = _TERMINATED.is_set()
            click.secho(_interrupted_line("SIGTERM" if terminated else "SIGINT"), fg="yellow", err=True)
            ctx.exit(143 if terminated else 130)


@click.group(
    cls=_LazyGroup,
    context_settings={"token_normalize_func": _normalize, "help_option_names": ["-h", "--help"]},
)
@click.version_option(package_name="rubric-eval", prog_name="rubric_eval")
def cli() -> None:
    """RubricEval: evaluate language models with instruction-specific rubrics.

    Pipeline: brainstorm_rubrics -> generate_rubrics -> generate_outputs -> evaluate -> generate_report.
    `rubric_eval --input_path=outputs.json` evaluates, reports and prints the leaderboard in one step.
    """
    _show_warnings()


_TERMINATED = threading.Event()


class _ClickHandler(logging.Handler):
    """Warnings of the engine and steps (a cache problem, a server's structured-output mode, a
    circuit breaker) to the terminal's stderr, each as one line."""

    def emit(self, record: logging.LogRecord) -> None:
        click.secho(f"warning: {record.getMessage()}", fg="yellow", err=True)


def _show_warnings() -> None:
    logger = logging.getLogger("rubric_eval")
    if not any(isinstance(h, _ClickHandler) for h in logger.handlers):
        handler = _ClickHandler(level=logging.WARNING)
        logger.addHandler(handler)  # with a handler here, logging's last-resort stderr line is not added


def _terminate(signum: int, frame: Any) -> None:
    # SIGTERM takes the path of Ctrl-C (asyncio cancels the run, the engine commits what it has,
    # temp files are removed); the flag turns the exit code into 143.
    _TERMINATED.set()
    signal.raise_signal(signal.SIGINT)


def _interrupted_line(signal_name: str) -> str:
    from rubric_eval.engine import answers_saved_in_process

    saved = answers_saved_in_process()
    if saved == 0:
        # "0 new answers are saved ...; rerunning resumes" misled after --no_cache or an early stop.
        return (
            f"Stopped by {signal_name}: no new answer was saved in the LLM cache (none had finished, or "
            "--no_cache); rerunning the same command asks for every answer again."
        )
    return (
        f"Stopped by {signal_name}: {saved} new answers are saved in the LLM cache; rerunning the same "
        "command resumes (saved answers are not asked for again)."
    )


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point. Exit codes: 0 all done, 1 something unscored or failed,
    2 usage or input error, 130 SIGINT, 143 SIGTERM."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _terminate)
    cli.main(args=argv if argv is not None else sys.argv[1:], prog_name="rubric_eval")
