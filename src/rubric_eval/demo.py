"""The offline demo: the whole pipeline on a few built-in instructions with the embedded local model.

`run_demo` brainstorms rubrics, writes them out in full, generates answers, grades them, writes
the report (with a summary) and the leaderboard, all with SmolLM2-135M-Instruct running
in-process (or any GGUF given as ``model``). Every step's records go into one folder, with the
LLM cache beside them, so a rerun repeats no call. Nothing leaves the machine.

A 135M model's rubrics and grades are not meaningful; the report says so at the top.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from rubric_eval._config import AnnotatorConfig, Step, resolve_config
from rubric_eval._io import write_records
from rubric_eval.datasets import load_benchmark
from rubric_eval.engine import Engine, EngineSettings, RunTotals
from rubric_eval.engine.providers import EMBEDDED_MODEL
from rubric_eval.errors import ConfigError
from rubric_eval.pipeline import report_evaluations, run_evaluation, summarize_evaluations, write_runs
from rubric_eval.records import Record
from rubric_eval.reporting import EvaluationReport, write_html
from rubric_eval.steps.brainstorm import brainstorm_rubrics
from rubric_eval.steps.outputs import generate_outputs
from rubric_eval.steps.rubrics import generate_rubrics

DEFAULT_OUTPUT_DIR = Path("rubric_eval_demo")
DEFAULT_N_INSTRUCTIONS = 3

# Decoding for the demo: short answers so the whole run takes ~1-2 minutes on 2 CPU cores.
# Sampling with a fixed seed (reproducible) and a repeat penalty: greedy decoding makes a
# 135M model repeat one criterion name, which the brainstorm validation rejects.
_SAMPLED = {"temperature": 0.7, "top_p": 0.95, "repeat_penalty": 1.15, "seed": 0}
DEMO_PARAMS: dict[Step, dict[str, Any]] = {
    "brainstormer": {**_SAMPLED, "max_tokens": 320},
    "rubric_generator": {**_SAMPLED, "max_tokens": 640},
    "generator": {**_SAMPLED, "max_tokens": 160},
    "evaluator": {"temperature": 0.0, "max_tokens": 320},
    "summarizer": {"temperature": 0.0, "max_tokens": 320},
}

DISCLAIMER = (
    "This report comes from `rubric_eval demo`: {model}, running on this machine, wrote the rubrics, "
    "answered the instructions, graded the answers and summarised the grades. {size_note}"
    "The demo shows the pipeline and the files it writes, not a result. For a real evaluation use a "
    "capable judge: set OPENAI_API_KEY (or ANTHROPIC_API_KEY) and use the default configs; or point "
    "OPENAI_BASE_URL at an OpenAI-compatible server (vLLM, Ollama, llama.cpp server) and pass "
    "`--evaluator_configs openai/MODEL_NAME`; or run a bigger local model with "
    "`--evaluator_configs local/path/to/model.gguf` (all data stays on this machine)."
)
_SMALL_MODEL_NOTE = (
    "A 135M-parameter model cannot follow a rubric: these rubrics, scores and summaries are NOT meaningful. "
)


@dataclass(frozen=True)
class DemoFiles:
    """Where the demo wrote each step's records, the report and the leaderboard."""

    instructions: Path
    brainstorms: Path
    rubrics: Path
    outputs: Path
    evaluations: Path
    report_markdown: Path
    report_json: Path
    report_html: Path
    leaderboard: Path
    cache_dir: Path | None

    @classmethod
    def in_folder(cls, folder: Path, *, cache: bool) -> DemoFiles:
        return cls(
            instructions=folder / "1_instructions.json",
            brainstorms=folder / "2_brainstorms.json",
            rubrics=folder / "3_rubrics.json",
            outputs=folder / "4_outputs.json",
            evaluations=folder / "5_evaluations.json",
            report_markdown=folder / "evaluation_report.md",
            report_json=folder / "evaluation_report.json",
            report_html=folder / "evaluation_report.html",
            leaderboard=folder / "leaderboard.json",
            cache_dir=folder / "cache" if cache else None,
        )


@dataclass
class DemoResult:
    """What `run_demo` did: files, the report, per-step wall times, and instructions that dropped out."""

    output_dir: Path
    files: DemoFiles
    report: EvaluationReport
    model: str
    embedded_model: bool
    n_instructions: int
    n_evaluated: int
    dropped: list[str] = field(default_factory=list)
    step_seconds: dict[str, float] = field(default_factory=dict)
    wall_s: float = 0.0
    totals: RunTotals = field(default_factory=RunTotals)


def _local_model(model: str | None) -> tuple[str, str]:
    """(model for the local provider, display label) from the demo's ``model`` argument."""
    spec = (model or EMBEDDED_MODEL).strip()
    if spec.startswith("local/"):
        spec = spec[len("local/") :]
    if spec.lower() == EMBEDDED_MODEL:
        return EMBEDDED_MODEL, f"local/{EMBEDDED_MODEL}"
    if spec.lower().endswith(".gguf"):
        return spec, f"local/{Path(spec).stem}"
    raise ConfigError(
        f"the demo runs offline with a local model: expected {EMBEDDED_MODEL!r}, a path to a .gguf "
        f"file or local/<path.gguf>, got {model!r} (for API models use `rubric_eval run`)"
    )


def demo_configs(model: str | None = None) -> dict[Step, AnnotatorConfig]:
    """Each step's config in the demo: the built-in ``local`` config with the demo's short decoding."""
    local_model, label = _local_model(model)
    configs: dict[Step, AnnotatorConfig] = {}
    for step, params in DEMO_PARAMS.items():
        base = resolve_config(step, "local")
        configs[step] = base.model_copy(update={"name": label, "model": local_model, "params": dict(params)})
    return configs


def pick_instructions(n: int) -> list[Record]:
    """``n`` instructions of the built-in benchmark, one category after another, without their rubrics."""
    records = load_benchmark()
    if not 1 <= n <= len(records):
        raise ConfigError(f"n_instructions must be between 1 and {len(records)}, got {n}")
    by_category: dict[str, list[Record]] = {}
    for record in records:
        by_category.setdefault(record.category or "", []).append(record)
    order: list[Record] = []
    for rank in range(max(len(group) for group in by_category.values())):
        order += [group[rank] for group in by_category.values() if rank < len(group)]
    keep = ("instruction", "id", "category", "useful_info_to_eval_instruction")
    return [Record.model_validate({k: v for k, v in r.dump().items() if k in keep}) for r in order[:n]]


def _reason(record: Record) -> str:
    if record.brainstormed_rubric is None:
        what, error = "brainstormed rubric", record.brainstormed_rubric_error
    else:
        what, error = "rubric", record.rubric_error
    return f"id={record.record_id}: no {what} ({error or 'unknown reason'})"


def run_demo(
    output_dir: str | os.PathLike[str] = DEFAULT_OUTPUT_DIR,
    *,
    n_instructions: int = DEFAULT_N_INSTRUCTIONS,
    model: str | None = None,
    use_cache: bool = True,
    progress: Literal["auto", "rich", "plain", "quiet"] = "auto",
) -> DemoResult:
    """Run the whole pipeline offline on ``n_instructions`` built-in instructions; write it all to one folder.

    ``model``: ``smollm2-135m-instruct`` (default, embedded; needs the ``local`` extra) or a path
    to a GGUF file. The LLM cache lives in ``<output_dir>/cache`` unless ``use_cache=False``.
    Instructions whose rubric could not be created are left out of the evaluation and listed
    in ``DemoResult.dropped`` and in the report's notes.
    """
    started = time.monotonic()
    folder = Path(output_dir)
    files = DemoFiles.in_folder(folder, cache=use_cache)
    configs = demo_configs(model)
    label = configs["evaluator"].name
    settings = EngineSettings(cache_dir=files.cache_dir, use_cache=use_cache, progress=progress)
    engine = Engine(settings)
    seconds: dict[str, float] = {}

    def timed(step: str, func: Any, *args: Any, **kwargs: Any) -> list[Record]:
        t0 = time.monotonic()
        out: list[Record] = func(*args, engine=engine, **kwargs)
        seconds[step] = round(time.monotonic() - t0, 2)
        return out

    records = pick_instructions(n_instructions)
    folder.mkdir(parents=True, exist_ok=True)
    write_records(records, files.instructions)
    records = timed("brainstorm", brainstorm_rubrics, records, brainstormer=configs["brainstormer"])
    write_records(records, files.brainstorms)
    brainstormed = [i for i, r in enumerate(records) if r.brainstormed_rubric is not None]
    generated = timed(
        "rubrics",
        generate_rubrics,
        [records[i] for i in brainstormed],
        rubric_generator=configs["rubric_generator"],
    )
    for i, record in zip(brainstormed, generated, strict=True):
        records[i] = record
    write_records(records, files.rubrics)
    dropped = [_reason(r) for r in records if r.rubric is None]
    with_rubric = [r for r in records if r.rubric is not None]
    if not with_rubric:
        raise ConfigError(
            f"{label} produced no usable rubric for any of the {len(records)} instructions "
            f"({'; '.join(dropped)}); see {files.rubrics}"
        )
    outputs = timed("outputs", generate_outputs, with_rubric, model=configs["generator"])
    write_records(outputs, files.outputs)
    t0 = time.monotonic()
    evaluations, runs = run_evaluation(
        outputs,
        evaluator=configs["evaluator"],
        engine=engine,
        source=str(files.outputs),
        input_path=str(files.outputs),
        dataset=f"rubric_eval demo: {n_instructions} built-in instructions",
    )
    write_records(evaluations, files.evaluations)
    write_runs(files.evaluations, runs)
    seconds["evaluate"] = round(time.monotonic() - t0, 2)
    t0 = time.monotonic()
    summaries, summarizer = summarize_evaluations(
        evaluations, summarizer=configs["summarizer"], engine=engine
    )
    report = report_evaluations(
        evaluations,
        runs=runs,
        summaries=summaries,
        summarizer=summarizer,
        leaderboard_path=files.leaderboard,
        source=str(files.evaluations),
    )
    embedded = configs["evaluator"].model == EMBEDDED_MODEL
    size_note = _SMALL_MODEL_NOTE if embedded else ""
    notes = [DISCLAIMER.format(model=label, size_note=size_note)]
    notes += [f"Left out (no rubric could be created): {reason}" for reason in dropped]
    report = report.model_copy(update={"notes": [*notes, *report.notes]})
    report.write(files.report_markdown)
    write_html(report, evaluations, files.report_html, source=str(files.evaluations))
    seconds["report"] = round(time.monotonic() - t0, 2)
    return DemoResult(
        output_dir=folder,
        files=files,
        report=report,
        model=label,
        embedded_model=embedded,
        n_instructions=len(records),
        n_evaluated=len(evaluations),
        dropped=dropped,
        step_seconds=seconds,
        wall_s=round(time.monotonic() - started, 2),
        totals=engine.totals,
    )
