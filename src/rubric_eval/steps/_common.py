"""Helpers every step shares: build a call from a config's template, run calls, merge results into records.

Kept small and stable on purpose; other steps import it.
"""

from __future__ import annotations

import logging
import random
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel

from rubric_eval._config import AnnotatorConfig
from rubric_eval._failures import reason_lines
from rubric_eval._templates import load_template
from rubric_eval.engine import ChatMessage, Engine, LLMCall, LLMResult, run_blocking
from rubric_eval.errors import INTERRUPTED, ConfigError
from rubric_eval.records import Record
from rubric_eval.steps._bookkeeping import bookkeeping_fields

T = TypeVar("T")
logger = logging.getLogger("rubric_eval")


def build_call(
    config: AnnotatorConfig,
    output_type: type[T],
    variables: dict[str, Any],
    *,
    check: Callable[[T], str | None] | None = None,
    label: str = "",
) -> LLMCall[T]:
    """Render the config's prompt template with `variables` into an `LLMCall`."""
    if config.template is None:
        raise ConfigError(f"config {config.name!r} ({config.step}) names no prompt template")
    template = load_template(config.template)
    messages = [ChatMessage.model_validate(m) for m in template.render(**variables)]
    return LLMCall(
        config=config,
        messages=messages,
        output_type=output_type,
        template_key=template.version_key,
        check=check,
        label=label,
    )


def run_calls(
    engine: Engine | None, calls: Sequence[LLMCall[Any]], *, description: str
) -> list[LLMResult[Any]]:
    """Run calls through `engine` (a default one when None); results come back in call order."""
    if not calls:
        return []
    return (engine or Engine()).run(calls, description=description)


def run_calls_until_stopped(
    engine: Engine | None, calls: Sequence[LLMCall[Any]], *, description: str
) -> tuple[list[LLMResult[Any]], bool]:
    """`run_calls`, but Ctrl-C / SIGTERM ends it with the results so far: the calls not finished get
    an ``interrupted`` error. Returns (results in call order, whether it was stopped)."""
    engine = engine or Engine()
    results: list[LLMResult[Any] | None] = [None] * len(calls)

    async def collect() -> None:
        async for index, result in engine.astream(calls, description=description, total=len(calls)):
            results[index] = result

    stopped = False
    if calls:
        try:
            run_blocking(collect())
        except KeyboardInterrupt:
            stopped = True
    unfinished = LLMResult[Any](ok=False, error=f"{INTERRUPTED}: the run was stopped before this call")
    return [r if r is not None else unfinished for r in results], stopped


def jsonable(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", exclude_none=True)
    return value


def with_fields(record: Record, updates: dict[str, Any], *, drop: Iterable[str] = ()) -> Record:
    """A copy of `record` with fields set (validated) and others removed; user fields are kept."""
    data = record.dump()
    for key in drop:
        data.pop(key, None)
    data.update({key: jsonable(value) for key, value in updates.items()})
    return Record.model_validate(data)


def result_fields(
    prefix: str, config: AnnotatorConfig, config_field: str, result: LLMResult[Any]
) -> dict[str, Any]:
    """The config name under `config_field` plus the bookkeeping fields ``<prefix>_price_per_example``, ..."""
    return {config_field: config.name, **bookkeeping_fields(prefix, result)}


def error_field(prefix: str) -> str:
    """Where a failed call's reason is stored: ``output`` -> ``output_error``."""
    return f"{prefix}_error"


def failed_record(
    record: Record, prefix: str, result: LLMResult[Any], summary: StepSummary, index: int
) -> Record:
    """Count a failed call and return the record with ``<prefix>_error`` set (nothing else invented)."""
    error = result.error or "unknown error"
    summary.fail(index, record, error)
    return with_fields(record, {error_field(prefix): error})


def sample_indices(n: int, max_instances: int | None, seed: int) -> list[int]:
    """At most `max_instances` of ``range(n)``, drawn with `seed`, in their original order."""
    if max_instances is None or max_instances >= n:
        return list(range(n))
    return sorted(random.Random(seed).sample(range(n), max_instances))


@dataclass
class Failure:
    index: int
    record_id: str
    error: str

    def __str__(self) -> str:
        return f"record {self.index} (id={self.record_id}): {self.error}"


@dataclass
class StepSummary:
    """What a step did: counts, failures with reasons, warnings, cost. The CLI prints it."""

    step: str
    n_records: int = 0
    generated: int = 0
    kept: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)  # reason -> count
    failures: list[Failure] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    cost_usd: float = 0.0  # spent by this run; cache hits cost nothing now
    cached: int = 0
    unpriced: int = 0

    def add_result(self, result: LLMResult[Any]) -> None:
        if result.cached:
            self.cached += 1
            return
        self.cost_usd += result.cost_usd
        self.unpriced += not result.cost_known and result.attempts > 0

    def fail(self, index: int, record: Record, error: str) -> None:
        self.failures.append(Failure(index, record.record_id, error))

    def warn(self, index: int, record: Record, message: str) -> None:
        self.warnings.append(f"record {index} (id={record.record_id}): {message}")

    def lines(self) -> list[str]:
        kept = ", ".join(f"{n} {source}" for source, n in sorted(self.kept.items()))
        parts = [f"{self.generated} generated"]
        if self.kept:
            parts.append(f"{sum(self.kept.values())} kept ({kept})")
        parts += [f"{n} skipped ({reason})" for reason, n in sorted(self.skipped.items())]
        parts.append(f"{len(self.failures)} failed")
        head = f"{self.step}: {self.n_records} records: " + ", ".join(parts)
        head += f"; {self.cached} from cache; cost ${self.cost_usd:.4f}"
        if self.unpriced:
            head += f" (+ {self.unpriced} calls to models without a known price)"
        reasons = reason_lines((f.error for f in self.failures), "failed records")
        return [head, *reasons, *(f"failed: {f}" for f in self.failures)]

    def log(self) -> None:
        """Report warnings and failures through logging (the Python API's channel)."""
        for message in self.warnings:
            logger.warning("%s: %s", self.step, message)
        for failure in self.failures:
            logger.warning("%s: failed: %s", self.step, failure)
