"""Every reply mode of the fault-injecting test server, through the real engine and HTTP client.

A fault on a call's first request is either recovered (a retry, a re-ask, a structured-output step
down) or becomes that call's failure with a reason a user can read; it never raises, never aborts
the batch, never leaks a Python class name, and the other calls are unaffected.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from engine_helpers import config_for, make_calls

from rubric_eval.engine import Engine, EngineSettings
from rubric_eval.testing import FAULT_KINDS, Fault, OpenAICompatibleServer
from rubric_eval.testing._faults import REPLY_MODES

# Modes whose reply is fine once read leniently: the call succeeds on its first request.
VALID_AS_IS = {
    "content_parts",
    "prose_around_json",
    "duplicate_keys",
    "bom_json",
    "wrong_content_type",
    "slow",
}
# Not retryable: the call fails with the server's reason, after one request.
PERMANENT = {"400", "401", "status_404", "status_413", "refusal"}
INTERNAL_NAMES = re.compile(r"\b(Traceback|AttributeError|TypeError|KeyError|IndexError|RecursionError)\b")


def test_the_server_has_at_least_30_reply_modes() -> None:
    assert len(REPLY_MODES) >= 30 and len(FAULT_KINDS) >= 45
    assert all(description for description, _ in REPLY_MODES.values())


@pytest.mark.parametrize("kind", sorted(FAULT_KINDS))
def test_one_fault_stays_in_its_call(
    kind: str, engine_settings: EngineSettings, make_openai_server: Any
) -> None:
    server: OpenAICompatibleServer = make_openai_server(faults=[Fault(kind)], hang_s=5.0)
    settings = engine_settings.model_copy(update={"timeout_s": 1.0, "max_concurrency": 1})
    engine = Engine(settings)
    results = engine.run(make_calls(config_for(server), 3))
    first, *rest = results
    assert all(r.ok for r in rest), [r.error for r in rest]  # the other calls are untouched
    if kind in PERMANENT:
        assert not first.ok and first.attempts == 1
    elif kind in VALID_AS_IS:
        assert first.ok and first.attempts == 1
    if not first.ok:
        assert first.error and not INTERNAL_NAMES.search(first.error), first.error
    else:
        assert first.value is not None
    assert engine.totals.calls == 3


def test_a_mix_of_every_fault_at_random_loses_no_call(
    engine_settings: EngineSettings, make_openai_server: Any
) -> None:
    kinds = sorted(FAULT_KINDS - {"hang"})
    server = make_openai_server(fault_rates={k: 0.5 / len(kinds) for k in kinds}, seed=3)
    engine = Engine(engine_settings.model_copy(update={"timeout_s": 2.0}))
    results = engine.run(make_calls(config_for(server), 60))
    assert len(results) == 60
    assert sum(r.ok for r in results) >= 50
    assert all(r.ok or (r.error and not INTERNAL_NAMES.search(r.error)) for r in results)
    # The rerun asks again for the failures only; answered calls come from the cache.
    rerun = Engine(engine_settings).run(make_calls(config_for(server), 60))
    assert [r.cached for r in rerun] == [r.ok for r in results]
