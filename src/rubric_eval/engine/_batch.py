"""``--batch``: send the calls that are not cached through the provider's batch API at half price.

Flow per endpoint: cache hits are left to the live path (they cost nothing); the remaining calls
are matched against batches this cache already submitted and that are not collected yet (a
killed run resumes polling those instead of paying again); the rest are submitted as new
batches, which are recorded in the cache database the moment the API returns their id. Then
the batches are polled until they end; every successful answer is committed to the same cache
as a live answer, priced at the batch discount. Requests that failed, expired, were cancelled
or gave an invalid answer are left to the live path, which retries (and re-asks) them as usual;
the batch cost of an invalid answer is added to that call's cost, never dropped.
"""

from __future__ import annotations

import asyncio
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from rubric_eval.engine._asking import parse_value
from rubric_eval.engine._batch_store import BatchStore
from rubric_eval.engine._batch_types import BatchAPI, BatchItemResult, BatchState
from rubric_eval.engine._cache import CachedAnswer
from rubric_eval.engine._limits import with_defaults
from rubric_eval.engine._pricing import Price, price_for, usage_of
from rubric_eval.engine._structured import NATIVE
from rubric_eval.engine._types import LLMCall, LLMResult, Provider, ProviderError, ProviderRequest, Usage
from rubric_eval.errors import ConfigError

if TYPE_CHECKING:
    from rubric_eval.engine._engine import Engine, _Run

BATCH_DISCOUNT = 0.5  # OpenAI Batch and Anthropic Message Batches both cost half the live price
POLL_FAILURES_BEFORE_GIVING_UP = 20
SUBMITTING = "submitting:"  # the id a batch has in the store while the API call creating it runs


@dataclass
class _Pending:
    index: int
    call: LLMCall[Any]
    key: str
    request: ProviderRequest


@dataclass
class BatchOutcome:
    """What the batches answered (by call index), and what failed answers cost (added to live retries)."""

    results: dict[int, LLMResult[Any]] = field(default_factory=dict)
    spent: dict[int, LLMResult[Any]] = field(default_factory=dict)

    def charge(self, index: int, live: LLMResult[Any]) -> LLMResult[Any]:
        """The live result of a call, with what its failed batch attempt cost added."""
        paid = self.spent.get(index)
        if paid is None:
            return live
        return replace(
            live,
            usage=live.usage + paid.usage,
            cost_usd=live.cost_usd + paid.cost_usd,
            batch_cost_usd=live.batch_cost_usd + paid.cost_usd,
            attempts=live.attempts + paid.attempts,
            cached=False,
        )


def batch_cost(price: Price | None, usage: Usage) -> float:
    return price.cost_of(usage) * BATCH_DISCOUNT if price else 0.0


class _Reporter:
    """Progress of the batches on stderr: submitted / in progress / done, on change, at most every 5 s."""

    def __init__(self, description: str, quiet: bool) -> None:
        self.description = description
        self.quiet = quiet
        self.last_line = ""
        self.last_at = 0.0

    def show(self, states: dict[str, BatchState], *, force: bool = False) -> None:
        if self.quiet or not states:
            return
        submitted = sum(s.total for s in states.values())
        done = sum(s.done for s in states.values())
        failed = sum(s.failed for s in states.values())
        running = sum(s.in_progress for s in states.values() if not s.ended)
        statuses = ", ".join(sorted({s.status for s in states.values()}))
        line = (
            f"{self.description}: batch: {submitted} submitted in {len(states)} batch(es), "
            f"{running} in progress, {done} done, {failed} failed ({statuses})"
        )
        now = time.monotonic()
        if line != self.last_line and (force or now - self.last_at >= 5.0):
            print(line, file=sys.stderr, flush=True)
            self.last_line, self.last_at = line, now


async def run_batches(
    engine: Engine, calls: Sequence[LLMCall[Any]], run: _Run, description: str
) -> BatchOutcome:
    """Answer what the batch APIs can; the caller runs everything else live (cache hits included)."""
    if run.cache is None:
        raise ConfigError(
            "--batch needs the cache: it records submitted batches to resume them (drop --no_cache)"
        )
    outcome = BatchOutcome()
    groups: dict[int, tuple[Provider, list[_Pending]]] = {}
    for index, call in enumerate(calls):
        provider = engine._provider(call.config)
        key, schema, messages = engine._key(call, provider)
        if await run.cache.get(key) is not None:
            continue
        modes = tuple(getattr(provider, "structured_modes", None) or (NATIVE,))
        request = ProviderRequest(
            model=call.config.model,
            messages=messages,
            params=with_defaults(getattr(provider, "default_params", None) or {}, call.config.params),
            response_schema=schema,
            schema_name=call.output_type.__name__ if schema is not None else None,
            structured_mode=modes[0] if schema is not None else None,  # the endpoint's native mode
        )
        groups.setdefault(id(provider), (provider, []))[1].append(_Pending(index, call, key, request))
    if not groups:
        return outcome
    store = BatchStore(run.cache.path)
    reporter = _Reporter(description, engine.settings.progress == "quiet")
    try:
        for provider, pending in groups.values():
            make_api = getattr(provider, "batch_api", None)
            if make_api is None:
                raise ConfigError(
                    f"--batch: provider {provider.name!r} ({provider.endpoint}) has no batch API; "
                    "batches work with the openai and anthropic providers"
                )
            api: BatchAPI = make_api()
            try:
                await _run_group(engine, run, store, api, provider.endpoint, pending, outcome, reporter)
            finally:
                await api.aclose()
    finally:
        store.close()
    return outcome


async def _run_group(
    engine: Engine,
    run: _Run,
    store: BatchStore,
    api: BatchAPI,
    endpoint: str,
    pending: list[_Pending],
    outcome: BatchOutcome,
    reporter: _Reporter,
) -> None:
    by_key: dict[str, list[_Pending]] = {}
    for item in pending:
        by_key.setdefault(item.key, []).append(item)
    await _settle_submissions(store, api, endpoint)
    open_batches = store.open_batches(endpoint, set(by_key))
    covered = set().union(*open_batches.values()) if open_batches else set()
    fresh = [items[0] for key, items in by_key.items() if key not in covered]
    model = pending[0].call.config.model
    _check_budget(engine, run, fresh)
    for start in range(0, len(fresh), api.max_requests):
        chunk = fresh[start : start + api.max_requests]
        tag = uuid.uuid4().hex[:16]
        # Recorded before the API call, so a process killed while the batch is being created finds
        # it on the next run (by this tag, in the batch's metadata) instead of paying for it again.
        submitting = SUBMITTING + tag
        items = [(p.key, p.call.template_key) for p in chunk]
        store.record(
            submitting, api=api.name, endpoint=endpoint, model=model, items=items, state="submitting"
        )
        try:
            batch_id = await api.submit([(p.key, p.request) for p in chunk], tag=tag)
        except ProviderError as exc:  # the batch may or may not exist: never send these live now
            _give_up(submitting, f"submission failed: {exc}", {p.key for p in chunk}, by_key, outcome)
            continue
        store.adopt(submitting, batch_id)
        open_batches[batch_id] = {p.key for p in chunk}
    await _poll(engine, run, store, api, open_batches, by_key, outcome, reporter)


async def _settle_submissions(store: BatchStore, api: BatchAPI, endpoint: str) -> None:
    """Batches whose creation an earlier run did not see finish: adopt them if the API has them."""
    for record in store.batches():
        if record.state != "submitting" or record.endpoint != endpoint or record.api != api.name:
            continue
        found = await api.find(record.batch_id.removeprefix(SUBMITTING))
        if found is not None:
            store.adopt(record.batch_id, found)
        else:
            store.set_state(record.batch_id, "lost", "never created")  # its calls are submitted again


def _check_budget(engine: Engine, run: _Run, fresh: list[_Pending]) -> None:
    """With ``--max_cost``, refuse a batch whose planned cost (batch price) would pass the budget.

    A batch is paid as a whole once submitted, so it is checked before, against the plan's
    estimate (see _plan.py): the budget cannot stop it half way as it stops live calls.
    """
    budget = run.budget.budget
    if budget.limit_usd is None or not fresh:
        return
    planner = engine._planner()
    planned = 0.0
    for item in fresh:
        tokens_in, tokens_out = planner.estimate(item.call)
        price = price_for(item.call.config)
        planned += batch_cost(price, Usage(tokens_in, tokens_out))
    if budget.spent_usd + planned > budget.limit_usd:
        raise ConfigError(
            f"--max_cost ${budget.limit_usd:.4f}: the batch of {len(fresh)} calls is planned at "
            f"${planned:.4f} (batch price; spent so far ${budget.spent_usd:.4f}) and a batch cannot be "
            "stopped half way; raise --max_cost, grade fewer records (--max_instances), or run live"
        )


async def _poll(
    engine: Engine,
    run: _Run,
    store: BatchStore,
    api: BatchAPI,
    open_batches: dict[str, set[str]],
    by_key: dict[str, list[_Pending]],
    outcome: BatchOutcome,
    reporter: _Reporter,
) -> None:
    settings = engine.settings
    started = time.monotonic()
    waiting = set(open_batches)
    states: dict[str, BatchState] = {}
    failures: dict[str, int] = {}
    cancelled: set[str] = set()
    while waiting:
        for batch_id in sorted(waiting):
            try:
                state = await api.state(batch_id)
            except ProviderError as exc:
                if exc.status == 404:  # the API no longer knows it: its calls go live
                    store.set_state(batch_id, "lost", "not found")
                    waiting.discard(batch_id)
                    continue
                failures[batch_id] = failures.get(batch_id, 0) + 1
                if exc.retryable and failures[batch_id] < POLL_FAILURES_BEFORE_GIVING_UP:
                    continue
                _give_up(batch_id, f"could not be polled: {exc}", open_batches[batch_id], by_key, outcome)
                waiting.discard(batch_id)
                continue
            failures.pop(batch_id, None)
            states[batch_id] = state
            store.set_status(batch_id, state.status)
            if state.ended:
                await _collect(engine, run, store, api, batch_id, by_key, outcome)
                waiting.discard(batch_id)
        reporter.show(states, force=not waiting)
        max_wait = settings.batch_max_wait_s
        if waiting and max_wait is not None and time.monotonic() - started > max_wait:
            for batch_id in waiting - cancelled:
                # Finished requests stay paid for and are collected; the rest run live.
                await api.cancel(batch_id)
                cancelled.add(batch_id)
        if waiting:
            await asyncio.sleep(settings.batch_poll_s)


def _give_up(
    batch_id: str, reason: str, keys: set[str], by_key: dict[str, list[_Pending]], outcome: BatchOutcome
) -> None:
    """A batch that cannot be polled now: its calls fail with the reason (a rerun resumes polling).

    They are not sent live, which would pay a second time for requests the batch may still answer.
    """
    error = f"batch {batch_id}: {reason}; rerun to resume it"
    for key in keys:
        for item in by_key.get(key, []):
            outcome.results[item.index] = LLMResult(ok=False, error=error, cost_known=True)


async def _collect(
    engine: Engine,
    run: _Run,
    store: BatchStore,
    api: BatchAPI,
    batch_id: str,
    by_key: dict[str, list[_Pending]],
    outcome: BatchOutcome,
) -> None:
    assert run.cache is not None
    try:
        items = await api.results(batch_id)
    except ProviderError as exc:
        if exc.retryable:
            return  # stays submitted: the next run (or poll) downloads the results again
        store.set_state(batch_id, "collected", f"failed: {exc}")
        return  # nothing ran: every call of it goes live
    known = store.template_keys(batch_id)
    for item in items:
        await _store_item(
            engine, run, item, by_key.get(item.custom_id, []), known.get(item.custom_id), outcome
        )
    store.set_state(batch_id, "collected")


async def _store_item(
    engine: Engine,
    run: _Run,
    item: BatchItemResult,
    waiting: list[_Pending],
    known: tuple[str, str] | None,
    outcome: BatchOutcome,
) -> None:
    assert run.cache is not None
    if item.response is None:
        if waiting or known:
            model = waiting[0].call.config.model if waiting else (known or ("", ""))[1]
            await run.cache.log_failure(item.custom_id, f"batch: {item.error}", None, model=model)
        return  # the live path retries it
    response = item.response
    usage = usage_of(response)
    if not waiting:
        # Paid for by an earlier run but no longer asked for: keep it (validated when it is used).
        if known is not None:
            price = None  # the config is unknown here; the answer is kept, its cost left unknown
            answer = CachedAnswer(response.text, usage.input_tokens, usage.output_tokens, price, 1, 0.0)
            await run.cache.put(item.custom_id, answer, model=known[1], template_key=known[0])
        return
    first = waiting[0]
    price = price_for(first.call.config)
    cost = batch_cost(price, usage)
    run.budget.budget.spent_usd += cost  # live retries after the batch count against --max_cost too
    result: LLMResult[Any] = LLMResult(
        ok=True,
        text=response.text,
        usage=usage,
        cost_usd=cost,
        batch_cost_usd=cost,
        cost_known=price is not None,
        attempts=1,
        batched=True,
        params=first.request.params,
    )
    try:
        value = parse_value(first.call, response.text)
    except ValueError:
        for pending in waiting:  # the live path asks again; this answer's cost is still counted
            outcome.spent[pending.index] = replace(result, ok=False)
        await run.cache.log_failure(
            first.key, "batch: invalid answer", response.text, model=first.call.config.model
        )
        return
    answer = CachedAnswer(
        response.text, usage.input_tokens, usage.output_tokens, cost if price else None, 1, 0.0
    )
    await run.cache.put(
        first.key, answer, model=first.call.config.model, template_key=first.call.template_key
    )
    outcome.results[first.index] = replace(result, value=value)
    for duplicate in waiting[1:]:  # the same request twice in this run: one paid answer, then cache hits
        try:
            again = parse_value(duplicate.call, response.text)
        except ValueError:
            continue  # a stricter check: the live path asks again
        outcome.results[duplicate.index] = replace(result, value=again, cached=True)
