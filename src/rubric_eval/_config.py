"""Named annotator configs: a prompt template, a provider and model, and decoding parameters.

One YAML file per step (``configs/<step>.yaml``) lists the built-in configs; the judge
model is a parameter, not a folder. Users pass a built-in name, a path to their own
YAML, or a ``provider/model`` string.
"""

from __future__ import annotations

import functools
from importlib import resources
from pathlib import Path
from typing import Any, Literal, cast

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from rubric_eval.engine import ModelConfig
from rubric_eval.errors import ConfigError

# The roles: "generator" answers the instructions (command `generate_outputs`, flag `--model_configs`,
# record field `generator`, module `steps/outputs.py`).
Step = Literal["brainstormer", "rubric_generator", "generator", "evaluator", "summarizer"]
STEPS: tuple[Step, ...] = ("brainstormer", "rubric_generator", "generator", "evaluator", "summarizer")
# Earlier names of a role, still accepted wherever a step is named.
STEP_ALIASES: dict[str, Step] = {"completer": "generator"}
NONE_VALUES = frozenset({"none", "null", "false", ""})


class AnnotatorConfig(ModelConfig):
    """Everything that defines how one step calls an LLM: the engine's `ModelConfig` plus the step
    and its prompt template."""

    step: Step
    template: str | None = Field(default=None, description="Prompt template, e.g. 'evaluate/v1'.")

    @field_validator("step", mode="before")
    @classmethod
    def _step_alias(cls, value: Any) -> Any:
        return STEP_ALIASES.get(value, value) if isinstance(value, str) else value


class _StepFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    default: str
    template: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    configs: dict[str, dict[str, Any]]


@functools.cache
def _step_file(step: Step) -> _StepFile:
    resource = resources.files("rubric_eval") / "configs" / f"{step}.yaml"
    data = yaml.safe_load(resource.read_text(encoding="utf-8"))
    return _StepFile.model_validate(data)


def step_named(step: str) -> Step:
    """The step a name stands for (an earlier name, ``completer``, gives ``generator``); an unknown
    name is left for `_step_file` to refuse."""
    return cast(Step, STEP_ALIASES.get(step, step))


def builtin_config_names(step: Step | str) -> list[str]:
    step = step_named(step)
    return list(_step_file(step).configs)


def _build(step: Step, name: str, body: dict[str, Any], source: str) -> AnnotatorConfig:
    defaults = _step_file(step)
    merged: dict[str, Any] = {"template": defaults.template, **body, "name": name, "step": step}
    merged["params"] = {**defaults.params, **body.get("params", {})}
    try:
        return AnnotatorConfig.model_validate(merged)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"{source}: config {name!r} field '{loc}': {first['msg']}") from None


def _from_yaml(step: Step, path: Path) -> AnnotatorConfig:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: invalid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping, got {type(data).__name__}")
    if "provider" in data or "model" in data:
        return _build(step, data.pop("name", path.stem), data, str(path))
    if len(data) == 1:
        ((name, body),) = data.items()
        if isinstance(body, dict):
            return _build(step, str(name), body, str(path))
    raise ConfigError(
        f"{path}: expected one config (a mapping with 'provider' and 'model', or {{name: {{...}}}})"
    )


def resolve_config(step: Step | str, spec: str | AnnotatorConfig | None = None) -> AnnotatorConfig:
    """Resolve a step's config from a built-in name, a YAML path, or ``provider/model``.

    ``None`` gives the step's default config. ``completer`` is accepted for ``generator``.
    """
    step = step_named(step)
    if isinstance(spec, AnnotatorConfig):
        return spec
    defaults = _step_file(step)
    name = defaults.default if spec is None else spec.strip()
    if name in defaults.configs:
        return _build(step, name, dict(defaults.configs[name]), f"built-in {step} configs")
    path = Path(name).expanduser()
    if path.suffix in {".yaml", ".yml"}:
        if not path.is_file():
            raise ConfigError(f"{step} config file not found: {path}")
        return _from_yaml(step, path)
    if "/" in name:
        provider, model = name.split("/", 1)
        if provider and model:
            # The same judge spelled as provider/model samples like its built-in config does.
            body: dict[str, Any] = {"provider": provider, "model": model}
            for builtin in defaults.configs.values():
                if builtin.get("provider") == provider and builtin.get("model") == model:
                    body = {**builtin, "provider": provider, "model": model}
                    break
            return _build(step, name, body, f"'{name}'")
    raise ConfigError(
        f"unknown {step} config {name!r}: expected a built-in name "
        f"({', '.join(builtin_config_names(step))}), a path to a .yaml file, or 'provider/model'"
    )


def is_builtin(config: AnnotatorConfig) -> bool:
    """True when the config is one of the step's built-in configs (by name)."""
    return config.name in _step_file(config.step).configs


def is_none(spec: str | None) -> bool:
    """True for the 'skip this step' spellings: None, 'None', 'null', 'false', ''."""
    return spec is None or spec.strip().lower() in NONE_VALUES
