"""A plan before spending (``--dry_run``) and the plan-vs-actual line of a real run.

Per call: is it cached; how many input tokens it sends; how many output tokens it will get;
which shared prefix it has (for prompt caching). Token counts come from a real tokenizer when
one is installed and works offline (``tiktoken`` with its encoding files present, OpenAI models
only); otherwise from an estimate of 4 characters per token over the messages' text, and the
plan says which. Output tokens come from the cache's history (the mean of earlier answers of the
same model and prompt template version, e.g. a ``--max_instances`` pilot) when it has at least
`MIN_HISTORY` of them, else from a prior (`DEFAULT_OUTPUT_TOKENS`), and the plan says which.
"""

from __future__ import annotations

import functools
import math
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rubric_eval.engine._batch import BATCH_DISCOUNT
from rubric_eval.engine._pricing import Price, price_for
from rubric_eval.engine._prompt_cache import shared_prefix
from rubric_eval.engine._types import ChatMessage, LLMCall, LLMResult, ModelConfig, Usage

CHARS_PER_TOKEN = 4.0
MIN_HISTORY = 5
DEFAULT_OUTPUT_TOKENS = 400  # a judge's or generator's answer when nothing better is known


@functools.cache
def _tiktoken_counter(model: str) -> Callable[[str], int] | None:
    """tiktoken's counter for an OpenAI model, or None (not installed, unknown model, files not offline)."""
    try:
        import tiktoken  # type: ignore[import-not-found]  # optional: used only when installed

        encoding = tiktoken.encoding_for_model(model)
    except Exception:  # missing package, unknown model, or an encoding file it would have to download
        return None
    return memoised_counter(lambda text: len(encoding.encode(text, disallowed_special=())))


def memoised_counter(counter: Callable[[str], int], size: int = 1024) -> Callable[[str], int]:
    """``counter`` remembering its recent texts: a real run's plan check counts every call's prompt,
    and the messages other than the answer repeat across the answers of an instruction, so a real
    tokenizer then encodes each shared message once rather than once per call."""
    return functools.lru_cache(maxsize=size)(counter)


def _chars_counter(text: str) -> int:
    return math.ceil(len(text) / CHARS_PER_TOKEN)


def count_input_tokens(counter: Callable[[str], int], messages: list[ChatMessage]) -> int:
    """Input tokens of ``messages``: the estimate over their newline-joined text, exactly as before,
    computed without joining; a tokenizer counts message by message (so its memo sees the repeated
    messages) plus one token per newline between them."""
    joints = max(len(messages) - 1, 0)
    if counter is _chars_counter:
        return math.ceil((sum(len(m.content) for m in messages) + joints) / CHARS_PER_TOKEN)
    return sum(counter(m.content) for m in messages) + joints


def token_counter(config: ModelConfig) -> tuple[Callable[[str], int], str]:
    """A token counter for the config's model and how it counts."""
    counter = _tiktoken_counter(config.model.rsplit("/", 1)[-1]) if config.provider == "openai" else None
    if counter is not None:
        return counter, "tiktoken (the model's tokenizer)"
    return _chars_counter, f"estimate: {CHARS_PER_TOKEN:g} characters per token (no offline tokenizer)"


@dataclass
class _History:
    output_tokens: float
    latency_s: float
    n: int


class History:
    """Earlier answers in the cache database: mean output tokens and latency per model and template."""

    def __init__(self, path: Path | None) -> None:
        self._path = path
        self._seen: dict[tuple[str, str], _History | None] = {}

    def get(self, model: str, template_key: str) -> _History | None:
        key = (model, template_key)
        if key not in self._seen:
            self._seen[key] = self._query(model, template_key)
        return self._seen[key]

    def _query(self, model: str, template_key: str) -> _History | None:
        if self._path is None or not self._path.exists():
            return None
        try:
            db = sqlite3.connect(f"file:{self._path}?mode=ro", uri=True, timeout=5.0)
            try:
                row = db.execute(
                    "SELECT AVG(output_tokens), AVG(latency_s), COUNT(*) FROM answers "
                    "WHERE model = ? AND template_key = ?",
                    (model, template_key),
                ).fetchone()
            finally:
                db.close()
        except sqlite3.Error:
            return None
        if row is None or not row[2] or row[2] < MIN_HISTORY:
            return None
        return _History(float(row[0]), float(row[1] or 0.0), int(row[2]))


@dataclass
class ConfigPlan:
    """The plan for one config's calls."""

    name: str
    model: str
    calls: int = 0
    cached: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cacheable_tokens: int = 0  # of input_tokens: the shared prefix of calls after the first of their group
    prefix_writes: int = 0  # the first call of each group writes the prefix to the provider's cache
    price: Price | None = None
    token_method: str = ""
    output_method: str = ""
    latency_s: float | None = None
    concurrency: int = 16
    requests_per_minute: float | None = None
    tokens_per_minute: float | None = None
    groups: set[str] = field(default_factory=set)

    @property
    def to_make(self) -> int:
        return self.calls - self.cached

    def cost(self, *, batch: bool = False, prompt_cache: bool = False) -> float | None:
        if self.price is None:
            return None
        usage = Usage(self.input_tokens, self.output_tokens)
        if prompt_cache:
            usage.cached_input_tokens = self.cacheable_tokens
            usage.cache_write_tokens = self.prefix_writes if self.price.cache_write_per_million else 0
        return self.price.cost_of(usage) * (BATCH_DISCOUNT if batch else 1.0)

    def seconds(self) -> float | None:
        """Time at the configured limits: the slowest of concurrency x latency, requests/min, tokens/min."""
        bounds = []
        if self.latency_s is not None:
            bounds.append(self.to_make * self.latency_s / self.concurrency)
        if self.requests_per_minute:
            bounds.append(self.to_make / self.requests_per_minute * 60)
        if self.tokens_per_minute:
            bounds.append((self.input_tokens + self.output_tokens) / self.tokens_per_minute * 60)
        return max(bounds) if bounds else None


class Planner:
    """Adds calls to per-config plans; also used by real runs to compare the plan with the usage."""

    def __init__(
        self, cache_path: Path | None, concurrency: Callable[[ModelConfig], int], rpm: Any, tpm: Any
    ):
        self.history = History(cache_path)
        self.plans: dict[str, ConfigPlan] = {}
        self._concurrency = concurrency
        self._rpm = rpm
        self._tpm = tpm
        self._counters: dict[str, tuple[Callable[[str], int], str]] = {}

    def _plan(self, config: ModelConfig) -> ConfigPlan:
        plan = self.plans.get(config.name)
        if plan is None:
            counter, method = token_counter(config)
            self._counters[config.name] = (counter, method)
            plan = ConfigPlan(
                name=config.name,
                model=config.model,
                price=price_for(config),
                token_method=method,
                concurrency=self._concurrency(config),
                requests_per_minute=self._rpm(config),
                tokens_per_minute=self._tpm(config),
            )
            self.plans[config.name] = plan
        return plan

    def estimate(self, call: LLMCall[Any]) -> tuple[int, int]:
        """(input, output) tokens this call is expected to use."""
        plan = self._plan(call.config)
        counter, _ = self._counters[call.config.name]
        tokens_in = count_input_tokens(counter, call.messages)
        history = self.history.get(call.config.model, call.template_key)
        if history is not None:
            plan.output_method = f"mean of {history.n} earlier answers in the cache"
            plan.latency_s = history.latency_s
            return tokens_in, round(history.output_tokens)
        plan.output_method = plan.output_method or f"prior: {DEFAULT_OUTPUT_TOKENS} per call (no history)"
        return tokens_in, DEFAULT_OUTPUT_TOKENS

    def add(self, call: LLMCall[Any], *, cached: bool) -> tuple[int, int]:
        """Count one call in its config's plan; returns its estimate."""
        plan = self._plan(call.config)
        plan.calls += 1
        if cached:
            plan.cached += 1
            return 0, 0
        tokens_in, tokens_out = self.estimate(call)
        plan.input_tokens += tokens_in
        plan.output_tokens += tokens_out
        prefix = shared_prefix(call.messages)
        if prefix is not None:
            counter, _ = self._counters[call.config.name]
            shared = min(tokens_in, counter(prefix))
            if prefix in plan.groups:
                plan.cacheable_tokens += shared
            else:
                plan.groups.add(prefix)
                plan.prefix_writes += shared
        return tokens_in, tokens_out


def _money(value: float | None) -> str:
    return "unknown (no price for this model)" if value is None else f"${value:,.4f}"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "unknown (no latency history; set requests_per_minute/tokens_per_minute to bound it)"
    return f"{seconds:,.0f} s" if seconds < 120 else f"{seconds / 60:,.1f} min"


def plan_lines(plans: list[ConfigPlan], *, stage: str) -> list[str]:
    """What --dry_run prints."""
    lines = [f"dry run ({stage}): nothing was called"]
    for plan in plans:
        share = plan.cacheable_tokens / plan.input_tokens if plan.input_tokens else 0.0
        lines += [
            f"  {plan.name} ({plan.model}): {plan.calls} calls, {plan.cached} already cached, "
            f"{plan.to_make} to make",
            f"    input tokens  {plan.input_tokens:>12,}  [{plan.token_method}]",
            f"    output tokens {plan.output_tokens:>12,}  [{plan.output_method or 'none to make'}]",
            f"    cacheable by prompt caching: {plan.cacheable_tokens:,} input tokens ({share:.1%})",
            f"    cost live {_money(plan.cost())}; with --batch {_money(plan.cost(batch=True))}; "
            f"with prompt caching {_money(plan.cost(prompt_cache=True))}",
            f"    time at concurrency {plan.concurrency}"
            + (f", {plan.requests_per_minute:g} requests/min" if plan.requests_per_minute else "")
            + (f", {plan.tokens_per_minute:g} tokens/min" if plan.tokens_per_minute else "")
            + f": {_duration(plan.seconds())}",
        ]
    return lines


@dataclass
class PlanCheck:
    """A real run's calls made: what the plan predicted for them and what the providers reported."""

    calls: int = 0
    predicted_input: int = 0
    predicted_output: int = 0
    predicted_cost: float = 0.0
    actual_input: int = 0
    actual_output: int = 0
    actual_cost: float = 0.0

    def add(self, planner: Planner, call: LLMCall[Any], result: LLMResult[Any]) -> None:
        """Count a call that was made and answered: its planned and its reported usage and cost."""
        if result.cached or not result.ok:
            return  # a failed call reports no usage to compare with
        tokens_in, tokens_out = planner.estimate(call)
        price = price_for(call.config)
        self.calls += 1
        self.predicted_input += tokens_in
        self.predicted_output += tokens_out
        factor = BATCH_DISCOUNT if result.batched else 1.0
        self.predicted_cost += price.cost(tokens_in, tokens_out) * factor if price else 0.0
        self.actual_input += result.usage.input_tokens
        self.actual_output += result.usage.output_tokens
        self.actual_cost += result.cost_usd

    def lines(self) -> list[str]:
        if not self.calls:
            return []

        def delta(predicted: float, actual: float) -> str:
            # Named as the plan's error, so "+508%" cannot be read as the run spending 508% over plan.
            if not actual:
                return "plan error n/a"
            error = (predicted - actual) / actual
            return f"plan {abs(error):.1%} {'over' if error >= 0 else 'under'} actual"

        return [
            f"plan vs actual ({self.calls} calls answered by the provider): "
            f"input tokens {self.predicted_input:,} planned, "
            f"{self.actual_input:,} reported ({delta(self.predicted_input, self.actual_input)}); "
            f"output tokens {self.predicted_output:,} planned, {self.actual_output:,} reported "
            f"({delta(self.predicted_output, self.actual_output)}); cost ${self.predicted_cost:.4f} planned, "
            f"${self.actual_cost:.4f} actual ({delta(self.predicted_cost, self.actual_cost)})"
        ]
