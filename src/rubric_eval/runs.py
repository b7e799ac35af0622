"""Run records: what one evaluation of one model was, typed and versioned (like inspect_ai's eval log).

A `RunRecord` names the model under test (one canonical name from the CLI and the Python API), the
judge (provider, model, sampling parameters, prompt template and its hash), the dataset (its name and a
fingerprint of the instructions and rubrics, so the same instructions reach the same leaderboard from
any file), the input file and settings, the status with its counts, wall time and the sum of call
latencies (two different things, each named as what it is), the totals (calls, cached, tokens, spent
by this run vs the cost of the answers), and the results. Reports carry their runs; the leaderboard
is a view over stored runs.

Everything here is pure: records in, typed values out.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
from collections.abc import Sequence
from typing import Literal, NamedTuple, Protocol

from pydantic import BaseModel, Field

from rubric_eval.engine import BUDGET_EXHAUSTED, ModelConfig
from rubric_eval.errors import INTERRUPTED
from rubric_eval.records import JudgeIssues, Record, Rubric

RUN_FORMAT_VERSION = 1
RunStatus = Literal["complete", "partial", "interrupted", "budget_stopped", "failed"]
RUN_STATUSES: tuple[RunStatus, ...] = ("complete", "partial", "interrupted", "budget_stopped", "failed")


class ScoreSummary(BaseModel):
    """Mean instruction score (1-10) over scored instructions, with its uncertainty."""

    mean: float | None
    sem: float | None = Field(description="Standard error of the mean (ddof=1); None when n < 2.")
    ci_low: float | None
    ci_high: float | None
    confidence: float = 0.95
    n: int = Field(description="Scored instructions.")
    n_unscored: int = Field(description="Instructions with no scored criterion (excluded from the mean).")
    weighted: bool = Field(description="True when instructions carry unequal `weight` fields.")
    n_resamples: int
    seed: int


class CategoryScore(BaseModel):
    category: str
    mean: float | None
    sem: float | None
    n: int
    n_unscored: int


class JudgeIdentity(BaseModel):
    """Who graded: the config's name, and what actually defines the judge's answers."""

    name: str = Field(description="The judge config's name (built-in name, YAML name or provider/model).")
    provider: str | None = None
    model: str | None = None
    params: dict[str, object] = Field(default_factory=dict, description="Sampling parameters sent.")
    template: str | None = Field(default=None, description="Prompt template id and content hash.")

    @property
    def key(self) -> str:
        """What makes two judges the same judge: provider, model, parameters, template (not the name)."""
        if self.provider is None or self.model is None:
            return self.name  # only a name is known (e.g. evaluations from an older version)
        params = json.dumps(self.params, sort_keys=True, default=str)
        digest = hashlib.sha256(f"{params}|{self.template}".encode()).hexdigest()[:10]
        return f"{self.provider}/{self.model}@{digest}"


class DatasetIdentity(BaseModel):
    """Which instructions: a display name and a fingerprint of the instructions and their rubrics."""

    name: str
    fingerprint: str = Field(description="sha256 of the sorted (instruction, rubric) pairs (first 16 hex).")
    n_instructions: int


class RunCounts(BaseModel):
    """What happened to each instruction of the run."""

    n_instructions: int
    n_scored: int = Field(description="Instructions with a score (at least one criterion scored).")
    n_unscored: int
    n_failed_calls: int = Field(0, description="Judge calls that failed after retries and re-asks.")
    n_budget_stopped: int = Field(
        0, description="Instructions not graded (some call not made) because --max_cost was reached."
    )
    n_interrupted: int = Field(0, description="Instructions not graded because the run was interrupted.")
    n_generation_failed: int = Field(0, description="Instructions with no answer to grade.")


class CallTotals(BaseModel):
    """The judge calls of this run: each call sent or answered from the cache (k per answer with
    ``--n_judge_samples k``, one per judge of a panel plus escalations), never one not sent."""

    calls: int = 0
    cached: int = Field(0, description="Calls answered from the cache.")
    input_tokens: int = 0
    output_tokens: int = 0
    spent_usd: float = Field(0.0, description="What this run spent (cache hits cost nothing now).")
    answers_cost_usd: float = Field(
        0.0, description="What the judge answers cost when they were made (also for cached ones)."
    )
    n_unpriced_calls: int = Field(0, description="Calls to a model with no known price (cost unknown).")


class RunTiming(BaseModel):
    started_at: str
    finished_at: str
    wall_time_s: float | None = Field(
        default=None, description="Wall-clock time of the command that made this run (None when unknown)."
    )
    summed_call_latency_s: float = Field(
        0.0, description="Sum of the judge calls' latencies: calls overlap, so this exceeds the wall time."
    )


class RunSettings(BaseModel):
    """The settings the run used (no keys: configs hold only the name of a key's variable)."""

    max_instances: int | None = None
    seed: int | None = None
    max_cost_usd: float | None = None
    max_concurrency: int | None = None
    use_cache: bool = True


class RunResults(BaseModel):
    """The run's scores: overall, per category, and per instruction (for paired tests)."""

    score: ScoreSummary
    categories: list[CategoryScore] = Field(default_factory=list)
    instruction_scores: dict[str, float] = Field(
        default_factory=dict, description="instruction key -> instruction score (scored ones only)"
    )
    instruction_weights: dict[str, float] | None = Field(
        default=None, description="instruction key -> weight, when instructions are weighted"
    )


class RunRecord(BaseModel):
    """One evaluation of one model by one judge on one dataset."""

    format_version: int = RUN_FORMAT_VERSION
    run_id: str
    rubric_eval_version: str
    status: RunStatus
    counts: RunCounts
    model: str = Field(description="The model under test, under its canonical name.")
    judge: JudgeIdentity
    dataset: DatasetIdentity
    input_path: str | None = None
    settings: RunSettings = Field(default_factory=RunSettings)
    timing: RunTiming
    totals: CallTotals = Field(default_factory=CallTotals)
    results: RunResults | None = None

    @property
    def key(self) -> tuple[str, str, str]:
        """The leaderboard key: (dataset fingerprint, judge key, model)."""
        return (self.dataset.fingerprint, self.judge.key, self.model)

    @property
    def complete(self) -> bool:
        return self.status == "complete"

    @property
    def status_text(self) -> str:
        """``complete``, or e.g. ``partial: 4 of 41 scored`` / ``budget_stopped: 4 of 41 scored``."""
        if self.complete:
            return "complete"
        return f"{self.status}: {self.counts.n_scored} of {self.counts.n_instructions} scored"


# -- pure functions ------------------------------------------------------------------------------


def new_run_id(now: dt.datetime | None = None) -> str:
    """A sortable, unique run id: ``20261203T071500Z-1a2b3c``."""
    now = now or dt.datetime.now(dt.timezone.utc)
    return f"{now.strftime('%Y%m%dT%H%M%SZ')}-{secrets.token_hex(3)}"


def utc_now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def _rubric_text(rubric: Rubric | None) -> str:
    if rubric is None:
        return ""
    rows = [row.model_dump(mode="json") for row in rubric.normalized().criteria]
    for row in rows:
        row["weight"] = round(row["weight"], 6)
    return json.dumps(rows, sort_keys=False, ensure_ascii=False, separators=(",", ":"))


def dataset_fingerprint(records: Sequence[Record]) -> str:
    """A fingerprint of the distinct (instruction, rubric) pairs, independent of file, order and answers.

    Rubrics are compared in canonical form (list format, weights normalised to 100), so the seed
    README's dict-of-dicts and the list format of the same rubric give the same fingerprint.
    """
    return _fingerprint_of({pair_digest(r) for r in records})


def pair_digest(record: Record) -> str:
    """The digest of one (instruction, rubric) pair; a dataset's fingerprint combines the distinct ones."""
    return pair_digest_of(record.instruction, record.rubric)


def pair_digest_of(instruction: str, rubric: Rubric | None) -> str:
    """`pair_digest` of an instruction's text and its rubric."""
    return hashlib.sha256(f"{instruction.strip()}\x00{_rubric_text(rubric)}".encode()).hexdigest()


def _fingerprint_of(digests: set[str]) -> str:
    return hashlib.sha256("\n".join(sorted(digests)).encode("ascii")).hexdigest()[:16]


def dataset_identity(records: Sequence[Record], name: str | None = None) -> DatasetIdentity:
    """The dataset's identity; ``name`` defaults to the records' ``dataset_name`` or a derived name."""
    digests = {pair_digest(r) for r in records}
    names = {str(r.dataset_name) for r in records if r.dataset_name}
    return _identity(digests, len({r.instruction.strip() for r in records}), names, name)


def dataset_identity_from(
    digests: set[str], n_instructions: int, names: set[str], name: str | None = None
) -> DatasetIdentity:
    """`dataset_identity` from the distinct pairs' digests (`pair_digest`), the number of distinct
    instructions and the dataset names seen (e.g. tallied as records stream past)."""
    return _identity(digests, n_instructions, names, name)


def _identity(digests: set[str], n: int, names: set[str], name: str | None) -> DatasetIdentity:
    fingerprint = _fingerprint_of(digests)
    if name is None:
        name = (
            next(iter(names)) if len(names) == 1 else f"unnamed dataset ({n} instructions, {fingerprint[:8]})"
        )
    return DatasetIdentity(name=name, fingerprint=fingerprint, n_instructions=n)


def judge_identity(config: ModelConfig, template: str | None = None) -> JudgeIdentity:
    """The judge's identity from its config and the template's ``id@hash``."""
    return JudgeIdentity(
        name=config.name,
        provider=config.provider,
        model=config.model,
        params=dict(config.params),
        template=template,
    )


def canonical_model_name(config: ModelConfig, *, builtin: bool) -> str:
    """The name of a model under test, the same from the CLI and the Python API.

    A built-in config name (``gpt-4o-mini``) and a ``provider/model`` spec (``openai/gpt-4o-mini``) of
    the same model both give the model id (``gpt-4o-mini``); a user's YAML config keeps its own name,
    since it may deliberately differ from the plain model (another system prompt, other sampling).
    """
    if builtin or config.name == f"{config.provider}/{config.model}":
        return config.model
    return config.name


class CountedRecord(Protocol):
    """What `run_counts` reads of an evaluated record (`rubric_eval.records.Record` has it)."""

    @property
    def score(self) -> float | None: ...
    @property
    def output_error(self) -> str | None: ...
    @property
    def judge_issues(self) -> JudgeIssues | None: ...
    @property
    def evaluation_failed_calls(self) -> int | None: ...


def run_counts(records: Sequence[CountedRecord], scored: Sequence[bool] | None = None) -> RunCounts:
    """Count scored and unscored instructions and why calls failed, from evaluated records.

    ``scored`` says which instructions have a score when the records' ``score`` field does not
    (evaluations in the seed format carry only ``score_per_criteria``).
    """
    counts = RunCounts(n_instructions=len(records), n_scored=0, n_unscored=0)
    flags = scored if scored is not None else [r.score is not None for r in records]
    for record, has_score in zip(records, flags, strict=True):
        _count_record(counts, record, has_score)
    return counts


def count_record(counts: RunCounts, record: CountedRecord, has_score: bool) -> None:
    """Add one evaluated record to ``counts`` (`run_counts`, one record at a time)."""
    counts.n_instructions += 1
    _count_record(counts, record, has_score)


def _count_record(counts: RunCounts, record: CountedRecord, has_score: bool) -> None:
    if has_score:
        counts.n_scored += 1
    else:
        counts.n_unscored += 1
    error = record.judge_issues.error if record.judge_issues is not None else None
    generation_failed = record.output_error is not None
    if generation_failed:
        counts.n_generation_failed += 1
        error = record.output_error
    if error is not None and BUDGET_EXHAUSTED in error:
        counts.n_budget_stopped += 1
    elif error is not None and INTERRUPTED in error:
        counts.n_interrupted += 1
    if record.evaluation_failed_calls is not None:
        counts.n_failed_calls += record.evaluation_failed_calls  # several calls (repeats, a panel)
    elif error is not None and not generation_failed and not _stopped(error):
        counts.n_failed_calls += 1  # a call not made (budget, interrupt) did not fail


def run_status(counts: RunCounts, *, interrupted: bool = False) -> RunStatus:
    """``complete`` when every instruction was scored; otherwise why not."""
    if interrupted or counts.n_interrupted:
        return "interrupted"
    if counts.n_budget_stopped:
        return "budget_stopped"
    if counts.n_instructions and counts.n_scored == 0:
        return "failed"
    if counts.n_unscored:
        return "partial"
    return "complete"


def call_totals(records: Sequence[Record]) -> CallTotals:
    """The judge calls' totals from evaluated records' bookkeeping."""
    totals = CallTotals()
    for r in records:
        _total_record(totals, r)
    return totals


class CalledRecord(CountedRecord, Protocol):
    """What `judge_calls` and `add_call_totals` read of an evaluated record (`Record` has it, and the
    report's reader)."""

    @property
    def evaluation_calls(self) -> int | None: ...
    @property
    def evaluation_cached_calls(self) -> int | None: ...
    @property
    def evaluation_unpriced_calls(self) -> int | None: ...
    @property
    def evaluation_cached_price(self) -> float | None: ...
    @property
    def evaluation_price_per_example(self) -> float | None: ...
    @property
    def evaluation_cost_known(self) -> bool | None: ...
    @property
    def evaluation_cached(self) -> bool | None: ...
    @property
    def evaluation_date(self) -> str | None: ...
    @property
    def evaluation_input_tokens(self) -> int | None: ...
    @property
    def evaluation_output_tokens(self) -> int | None: ...


class JudgeCalls(NamedTuple):
    """The judge calls one evaluated record stands for: every call that was sent (or answered from the
    cache), never one that a budget stop or an interrupt kept from being sent."""

    calls: int
    cached: int
    failed: int
    unpriced: int
    cached_price: float


def judge_calls(r: CalledRecord) -> JudgeCalls:
    """How many judge calls a record's grading made: one per answer for one judge, k with
    ``--n_judge_samples k``, one per judge (and repeat) of a panel plus the escalation (the record's
    ``evaluation_calls`` and friends); cached calls, failed calls, calls to unpriced models, and what
    the cached answers had cost. Records of older versions without the counts: one call at most."""
    price = r.evaluation_price_per_example or 0.0
    if r.evaluation_calls is not None:
        return JudgeCalls(
            calls=r.evaluation_calls,
            cached=r.evaluation_cached_calls or 0,
            failed=r.evaluation_failed_calls or 0,
            unpriced=r.evaluation_unpriced_calls or 0,
            cached_price=r.evaluation_cached_price or 0.0,
        )
    if r.evaluation_date is None or _no_call(r):
        return JudgeCalls(0, 0, 0, 0, 0.0)  # no answer to grade, or stopped before its call was sent
    cached = bool(r.evaluation_cached)
    error = r.judge_issues.error if r.judge_issues is not None else None
    return JudgeCalls(
        calls=1,
        cached=int(cached),
        failed=int(error is not None and not _stopped(error)),
        unpriced=int(r.evaluation_cost_known is False),
        cached_price=price if cached else 0.0,
    )


def add_call_totals(totals: CallTotals, r: CalledRecord) -> None:
    """Add one evaluated record's judge calls to ``totals`` (`call_totals`, one record at a time)."""
    _total_record(totals, r)


def _total_record(totals: CallTotals, r: CalledRecord) -> None:
    calls = judge_calls(r)
    if not calls.calls:
        return
    price = r.evaluation_price_per_example or 0.0
    totals.calls += calls.calls
    totals.cached += calls.cached
    totals.input_tokens += r.evaluation_input_tokens or 0
    totals.output_tokens += r.evaluation_output_tokens or 0
    totals.answers_cost_usd += price
    totals.spent_usd += max(price - calls.cached_price, 0.0)  # cache hits cost nothing now
    totals.n_unpriced_calls += calls.unpriced


def _stopped(error: str) -> bool:
    return INTERRUPTED in error or BUDGET_EXHAUSTED in error


def _no_call(r: CalledRecord) -> bool:
    """No judge call was made: no answer to grade, or the run stopped (budget, interrupt) before any of
    the record's calls was sent (one that came back, e.g. a finished repeat, leaves tokens)."""
    if r.output_error is not None:
        return True
    error = r.judge_issues.error if r.judge_issues is not None else None
    stopped = error is not None and _stopped(error)
    return stopped and not (r.evaluation_cached or r.evaluation_input_tokens or r.evaluation_output_tokens)


class _ModelTally:
    """What one model's evaluated records add up to, one record at a time (bounded memory)."""

    def __init__(self, n_instructions: int = 0) -> None:
        self.counts = RunCounts(n_instructions=0, n_scored=0, n_unscored=0)
        self.totals = CallTotals()
        self.latency = 0.0
        self.digests: set[str] = set()
        self.instructions: set[str] = set()
        self.names: set[str] = set()

    def add(self, record: Record, digests: tuple[str, str]) -> None:
        """Add one record; ``digests``: its (instruction, rubric) pair's and its instruction's."""
        self.counts.n_instructions += 1
        _count_record(self.counts, record, record.score is not None)
        _total_record(self.totals, record)
        self.latency += record.evaluation_time_per_example or 0.0
        self.digests.add(digests[0])
        self.instructions.add(digests[1])
        if record.dataset_name:
            self.names.add(record.dataset_name)


_DIGEST_MEMO = 4096


class RunTally:
    """Builds one run record per model from evaluated records as they stream past.

    ``add`` returns the record with this run's id (and, when it has none, the model its file is named
    after), so it can be the hook that finishes each record before it is written.
    """

    def __init__(self, *, run_id: str, unknown_model: str | None = None) -> None:
        self.run_id = run_id
        self.unknown_model = unknown_model
        self.models: dict[str, _ModelTally] = {}
        # (instruction, rubric content) -> pair digest: tens of models' records repeat each pair, and
        # the digest (rubric normalised and serialised, then hashed) is most of this tally's cost.
        self._digests: dict[tuple[str, tuple[object, ...]], tuple[str, str]] = {}

    def _pair_digests(self, record: Record) -> tuple[str, str]:
        rubric = record.rubric
        content: tuple[object, ...] = (
            ()
            if rubric is None
            else tuple(
                (row.criterion, row.weight, tuple(row.performance_to_description.items()))
                for row in rubric.criteria
            )
        )
        key = (record.instruction, content)
        digest = self._digests.get(key)
        if digest is None:
            if len(self._digests) >= _DIGEST_MEMO:
                self._digests.clear()  # bounded memory whatever the number of distinct pairs
            instruction = hashlib.sha256(record.instruction.strip().encode()).hexdigest()
            digest = self._digests[key] = (pair_digest(record), instruction)
        return digest

    def add(self, record: Record) -> Record:
        update: dict[str, object] = {"evaluation_run_id": self.run_id}
        if record.model is None and self.unknown_model is not None:
            update["model"] = self.unknown_model
        record = record.model_copy(update=update)
        model = record.model or "unknown model"
        tally = self.models.get(model)
        if tally is None:
            tally = self.models[model] = _ModelTally()
        tally.add(record, self._pair_digests(record))
        return record

    def runs(
        self,
        *,
        judge: JudgeIdentity,
        dataset_name: str | None,
        input_path: str | None,
        settings: RunSettings,
        started_at: str,
        finished_at: str,
        wall_time_s: float | None,
        interrupted: bool = False,
    ) -> list[RunRecord]:
        """One run record per model (its results are added by the report)."""
        from rubric_eval._version import package_version

        out = []
        for model, tally in self.models.items():
            out.append(
                RunRecord(
                    run_id=self.run_id,
                    rubric_eval_version=package_version(),
                    status=run_status(tally.counts, interrupted=interrupted),
                    counts=tally.counts,
                    model=model,
                    judge=judge,
                    dataset=_identity(tally.digests, len(tally.instructions), tally.names, dataset_name),
                    input_path=input_path,
                    settings=settings,
                    timing=RunTiming(
                        started_at=started_at,
                        finished_at=finished_at,
                        wall_time_s=None if wall_time_s is None else round(wall_time_s, 3),
                        summed_call_latency_s=round(tally.latency, 3),
                    ),
                    totals=tally.totals,
                )
            )
        return out


class RunLog(BaseModel):
    """The run records of one evaluations file, written beside it (``evaluations.runs.json``)."""

    format_version: int = RUN_FORMAT_VERSION
    runs: list[RunRecord] = Field(default_factory=list)


__all__ = [
    "RUN_STATUSES",
    "CallTotals",
    "CategoryScore",
    "DatasetIdentity",
    "JudgeIdentity",
    "RunCounts",
    "RunLog",
    "RunRecord",
    "RunResults",
    "RunSettings",
    "RunStatus",
    "RunTally",
    "RunTiming",
    "ScoreSummary",
    "add_call_totals",
    "call_totals",
    "canonical_model_name",
    "dataset_fingerprint",
    "dataset_identity",
    "judge_identity",
    "new_run_id",
    "run_counts",
    "run_status",
]
