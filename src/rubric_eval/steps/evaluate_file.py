"""`evaluate` from a file to a file in bounded memory: records stream from the input to the judge
to the output.

Records are read one at a time (`rubric_eval._io.iter_records`) only as far ahead of the judge as the
engine's window, graded as the answers arrive, and spilled to disk as soon as each is graded
(`OrderedSpill`); the output is written in input order at the end, through a temp file and a rename.
What stays in memory per record is a few integers and the summary counts. A bad record stops the
run with an `InputError` naming it, after the calls already started have finished: their answers
are in the cache, so the rerun after fixing the file repeats none of them; nothing is written.
"""

from __future__ import annotations

import itertools
import os
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from rubric_eval._config import AnnotatorConfig
from rubric_eval._io import OrderedSpill, iter_records
from rubric_eval.engine import Engine, run_blocking
from rubric_eval.errors import FileEvaluationInterrupted, InputError
from rubric_eval.records import Record
from rubric_eval.runs import judge_calls
from rubric_eval.steps.evaluate import agrade, interrupted_record
from rubric_eval.trust import Aggregate

_RECORD_KEY = re.compile(rb'"instruction"\s*:')


@dataclass
class EvaluationTally:
    """Counts over evaluated records, for the command's summary (added one record at a time).
    `calls`, `failed` and `cached` count judge calls (one per record, or more with repeats or a panel): failed
    after retries and re-asks, and answered from the cache (`rubric_eval.runs.judge_calls`)."""

    records: int = 0
    criteria: int = 0
    scored: int = 0
    unscored_instructions: int = 0
    calls: int = 0
    failed: int = 0
    cached: int = 0
    invented: int = 0
    unknown_levels: int = 0
    unpriced: int = 0
    spent_usd: float = 0.0
    cached_usd: float = 0.0
    incomplete: int = 0
    """Records with an unscored criterion (or no grades): the command then exits 1."""
    reasons: Counter[str] = field(default_factory=Counter)
    """Why criteria are unscored, with counts."""

    def add(self, record: Record) -> None:
        grades = record.grades or []
        issues = record.judge_issues
        self.records += 1
        self.criteria += len(grades)
        scored = sum(g.status == "scored" for g in grades)
        self.scored += scored
        self.incomplete += scored < len(grades) or not grades
        self.reasons.update(g.reason or "unscored (no reason given)" for g in grades if g.status != "scored")
        self.unscored_instructions += record.score is None
        if issues is not None:
            self.invented += len(issues.invented_criteria)
            self.unknown_levels += len(issues.unknown_levels)
        # Every judge call of the record (repeats, a panel), some perhaps from the cache: the cached
        # answers cost nothing now; their original price is shown apart (`rubric_eval.runs.judge_calls`).
        calls = judge_calls(record)
        self.calls += calls.calls
        self.failed += calls.failed
        self.cached += calls.cached
        self.cached_usd += calls.cached_price
        self.spent_usd += max((record.evaluation_price_per_example or 0.0) - calls.cached_price, 0.0)
        self.unpriced += calls.unpriced if calls.cached < calls.calls else 0


def estimate_records(path: str | os.PathLike[str]) -> int | None:
    """How many records a file holds, from a fast byte scan (for progress before the reader is done):
    lines of JSONL, ``"instruction":`` keys of a JSON list. None when unreadable."""
    p = Path(path)
    jsonl = p.suffix.lower() in {".jsonl", ".ndjson"}
    count = 0
    previous = b""
    try:
        with p.open("rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 22), b""):
                if jsonl:
                    count += chunk.count(b"\n")
                else:
                    count += len(_RECORD_KEY.findall(chunk))
                    # Keys cut by the chunk boundary: those that start before it and end after it.
                    edge = previous[-64:]
                    window = edge + chunk[:64]
                    count += sum(m.start() < len(edge) < m.end() for m in _RECORD_KEY.finditer(window))
                previous = chunk
    except OSError:
        return None
    return count + (1 if jsonl and previous and not previous.endswith(b"\n") else 0)


def evaluate_file(
    input_path: str | os.PathLike[str],
    output_path: str | os.PathLike[str],
    *,
    config: AnnotatorConfig,
    engine: Engine,
    n_judge_samples: int = 1,
    aggregate: Aggregate = "mean",
    max_instances: int | None = None,
    on_record: Callable[[int, Record], None] | None = None,
    finish: Callable[[Record], Record] | None = None,
    interrupted_path: Callable[[], Path | None] | None = None,
) -> EvaluationTally:
    """Grade every record of ``input_path`` with one judge and write them, in order, to ``output_path``.

    ``on_record`` sees each input record as it is read (e.g. input checks); ``finish`` sees each graded
    record before it is written and returns what is written (e.g. `runs.RunTally.add`: the run id).
    An input without records is an `InputError`. When Ctrl-C or SIGTERM stops the run and
    ``interrupted_path`` is given, every input record is still written, in order, to the path it returns
    (None: nothing is written): those graded so far, and the rest unscored with an ``interrupted``
    error; then `FileEvaluationInterrupted` is raised with the counts.
    """
    tally = EvaluationTally()
    records: Iterator[tuple[int, Record]] = enumerate(iter_records(input_path))
    if max_instances is not None:
        records = itertools.islice(records, max_instances)
    if on_record is not None:
        records = _watched(records, on_record)
    estimate = estimate_records(input_path)
    if estimate is not None and max_instances is not None:
        estimate = min(estimate, max_instances)
    graded: set[int] = set()
    with OrderedSpill(output_path) as spill:

        def emit(index: int, record: Record) -> None:
            if finish is not None:
                record = finish(record)
            spill.put(index, record)
            tally.add(record)
            graded.add(index)

        try:
            run_blocking(
                agrade(
                    records,
                    emit,
                    config=config,
                    engine=engine,
                    source=str(input_path),
                    n_judge_samples=n_judge_samples,
                    aggregate=aggregate,
                    total=None if estimate is None else estimate * n_judge_samples,
                )
            )
        except KeyboardInterrupt:
            if interrupted_path is None:
                raise
            target = interrupted_path()
            if target is None:
                raise
            # Another pass over the input (bounded memory; a second Ctrl-C here writes nothing): the
            # records not graded are written unscored, so the counts cover the whole input.
            source = str(input_path)
            again: Iterator[Record] = iter_records(input_path, model=Record)
            try:
                for index, record in itertools.islice(enumerate(again), max_instances):
                    if index not in graded:
                        emit(index, interrupted_record(record, config, aggregate, index=index, source=source))
            except InputError:
                pass  # records after a bad one are not known to be gradable: the counts stop there
            spill.commit(target)
            raise FileEvaluationInterrupted(tally, target) from None
        if tally.records == 0:
            raise InputError("the input has no records; nothing to evaluate", path=str(input_path))
        spill.commit()
    return tally


def _watched(
    records: Iterator[tuple[int, Record]], watch: Callable[[int, Record], None]
) -> Iterator[tuple[int, Record]]:
    for index, record in records:
        watch(index, record)
        yield index, record
