"""Model outputs: the model under test answers each instruction (no rubric in sight).

Adds ``output``, ``output_raw_completion``, ``model``, ``generator`` and the ``output_*`` bookkeeping. A
failed generation leaves the record without ``output`` and sets ``output_error``; no text is invented.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rubric_eval._api_edge import RecordsLike, to_records
from rubric_eval._config import AnnotatorConfig, is_builtin, resolve_config
from rubric_eval.datasets import benchmark_label, load_benchmark
from rubric_eval.engine import Engine, LLMCall
from rubric_eval.errors import GenerationInterrupted
from rubric_eval.records import Record
from rubric_eval.runs import canonical_model_name
from rubric_eval.steps._common import (
    StepSummary,
    build_call,
    error_field,
    result_fields,
    run_calls_until_stopped,
    sample_indices,
    with_fields,
)

FIELD = "output"
# Fields that describe a previous answer; they would be wrong next to a new one.
_EVALUATION_FIELDS = (
    "grades",
    "feedback_per_criteria",
    "score_per_criteria",
    "level_per_criteria",
    "score",
    "fraction_scored",
    "evaluator",
    "judge_issues",
)


def _stale_fields(record: Record) -> list[str]:
    present = set(record.model_fields_set) | set(record.model_extra or {})
    stale = sorted(key for key in present if key.startswith(("output_", "evaluat")))
    return [FIELD, "outputs", *stale, *_EVALUATION_FIELDS]


def dataset_label(
    source: str | None, max_instances: int | None = None, seed: int = 0, *, benchmark: str = "default"
) -> str:
    """The ``dataset_name`` written with outputs: the input's name (else the built-in's) and the sample."""
    name = source or benchmark_label(benchmark)
    return name if max_instances is None else f"{name} (sample of {max_instances}, seed {seed})"


def builtin_benchmark(name: str = "default") -> list[Record]:
    """A built-in benchmark's records (`rubric_eval.datasets.load_benchmark`); v1 by default."""
    return load_benchmark(name=name)


def completion_call(record: Record, config: AnnotatorConfig) -> LLMCall[str]:
    return build_call(config, str, {"instruction": record.instruction}, label=f"output id={record.record_id}")


def run_outputs(
    records: list[Record], *, config: AnnotatorConfig, engine: Engine | None, dataset_name: str | None = None
) -> tuple[list[Record], StepSummary]:
    """Generate an answer for every record; previous answers and their evaluations are replaced.

    ``dataset_name`` is added to records that have none, so reports and the leaderboard name the dataset.
    Ctrl-C / SIGTERM raises `GenerationInterrupted` with every record (the unanswered ones with an
    ``interrupted`` ``output_error``) and the summary.
    """
    summary = StepSummary(step="generate_outputs", n_records=len(records))
    calls = [completion_call(r, config) for r in records]
    results, stopped = run_calls_until_stopped(engine, calls, description="outputs")
    out: list[Record] = []
    identity = {"model": canonical_model_name(config, builtin=is_builtin(config))}
    for i, (record, result) in enumerate(zip(records, results, strict=True)):
        summary.add_result(result)
        fields = result_fields(FIELD, config, "generator", result)
        if result.ok and isinstance(result.value, str) and result.value.strip():
            summary.generated += 1
            updates = {
                FIELD: result.value.strip(),
                "output_raw_completion": result.value,
                **identity,
                **fields,
            }
        else:
            error = result.error if not result.ok else "the model returned an empty answer"
            summary.fail(i, record, error or "unknown error")
            updates = {error_field(FIELD): error, **identity, **fields}
        if dataset_name is not None and record.dataset_name is None:
            updates["dataset_name"] = dataset_name
        out.append(with_fields(record, updates, drop=_stale_fields(record)))
    if stopped:  # Ctrl-C / SIGTERM: the answers so far, the rest with an "interrupted" output_error
        raise GenerationInterrupted(out, summary)
    return out, summary


def generate_outputs(
    records: RecordsLike | None = None,
    *,
    model: str | AnnotatorConfig | None = None,
    engine: Engine | None = None,
    max_instances: int | None = None,
    seed: int = 0,
    benchmark: str = "default",
) -> Any:
    """Generate the answers of `model` (a built-in name, YAML path or ``provider/model``) to each instruction.

    ``records=None`` uses the built-in benchmark named by ``benchmark`` (``"default"`` is
    ``rubriceval_builtin_v1``; see `rubric_eval.benchmark_names`) and returns `Record`s; otherwise
    records come as a list of dicts, of `Record`s, or a DataFrame, and are returned in the same kind.
    ``max_instances`` keeps a seeded sample in the original order. A failed call leaves the record
    without ``output`` and with ``output_error``.
    """
    convert_back: Callable[[list[Record]], Any]
    if records is None:
        parsed, convert_back = builtin_benchmark(benchmark), list
    else:
        parsed, convert_back = to_records(records)
    parsed = [parsed[i] for i in sample_indices(len(parsed), max_instances, seed)]
    config = resolve_config("generator", model)
    dataset = dataset_label(None, max_instances, seed, benchmark=benchmark) if records is None else None
    out, summary = run_outputs(parsed, config=config, engine=engine, dataset_name=dataset)
    summary.log()
    return convert_back(out)


__all__ = [
    "FIELD",
    "builtin_benchmark",
    "completion_call",
    "dataset_label",
    "generate_outputs",
    "run_outputs",
    "sample_indices",
]
