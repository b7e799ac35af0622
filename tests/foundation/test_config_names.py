"""One name per model across roles: every built-in config name works for every step."""

from __future__ import annotations

import pytest

from rubric_eval import resolve_config
from rubric_eval._config import STEPS, AnnotatorConfig, builtin_config_names


def test_every_step_has_the_same_builtin_names() -> None:
    names = {step: sorted(builtin_config_names(step)) for step in STEPS}
    assert len({tuple(v) for v in names.values()}) == 1, names


@pytest.mark.parametrize("step", STEPS)
def test_a_judge_name_is_a_model_name_too(step: str) -> None:
    config = resolve_config(step, "gpt-4.1-mini")  # type: ignore[arg-type]  # a Step literal
    assert (config.provider, config.model, config.step) == ("openai", "gpt-4.1-mini", step)


def test_the_role_that_answers_instructions_is_the_generator_and_completer_still_works() -> None:
    generator = resolve_config("generator", "gpt-4o-mini")
    assert resolve_config("completer", "gpt-4o-mini") == generator  # the earlier name
    assert generator.step == "generator" and generator.template == "complete/v1"  # cache keys unchanged
    assert builtin_config_names("completer") == builtin_config_names("generator")
    assert AnnotatorConfig(step="completer", name="x", provider="openai", model="m").step == "generator"
