"""Helpers for the creation tests: scripted LLM replies and a parser for the expert-material files."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

from rubric_eval.engine import Engine, EngineSettings, ProviderRequest
from rubric_eval.engine.providers.scripted import ScriptedProvider
from rubric_eval.testing import synthesize_instance, unfence

_HEADING = re.compile(r"^# <([A-Za-z0-9_]+)>:[ \t]*$", re.MULTILINE)


def parse_readable(text: str) -> dict[str, Any]:
    """Parse a ``readable_dataset/<name>.md`` file: ``# <key>:`` headings, each followed by its value.

    JSON values (lists, objects, numbers) are decoded; ``nan`` becomes None; other values stay text.
    """
    matches = list(_HEADING.finditer(text))
    out: dict[str, Any] = {}
    for match, following in zip(matches, [*matches[1:], None], strict=True):
        end = following.start() if following is not None else len(text)
        raw = text[match.end() : end].strip("\n").strip()
        out[match.group(1)] = _decode(raw)
    return out


def _decode(raw: str) -> Any:
    if raw.lower() == "nan":
        return None
    if raw[:1] in "[{" or re.fullmatch(r"-?\d+(\.\d+)?", raw):
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            return raw
        return None if isinstance(value, float) and math.isnan(value) else value
    return raw


def read_readable(path: Path) -> dict[str, Any]:
    return parse_readable(path.read_text(encoding="utf-8"))


def checklist_notes(checklist: list[str]) -> str:
    """The expert checklist as the free text of ``useful_info_to_eval_instruction``."""
    return "Expert checklist:\n" + "\n".join(f"- {item}" for item in checklist)


def brainstorm_reply(names: list[str], weights: list[float] | None = None) -> str:
    weights = weights or [100.0 / len(names)] * len(names)
    return json.dumps(
        {
            "criteria": [
                {"criterion": n, "weight": w, "checklist": [f"check {n} one", f"check {n} two"]}
                for n, w in zip(names, weights, strict=True)
            ]
        }
    )


def schema_reply(request: ProviderRequest) -> str:
    """A valid answer synthesised from the request's JSON schema (seeded by the prompt)."""
    assert request.response_schema is not None, "expected a structured request"
    seed = "".join(m.content for m in request.messages)
    return json.dumps(synthesize_instance(request.response_schema, seed=seed))


def is_step(request: ProviderRequest, schema_name: str) -> bool:
    return request.schema_name == schema_name


def scripted_engine(provider: ScriptedProvider, settings: EngineSettings) -> Engine:
    return Engine(settings, providers={"openai": provider})


def prompt_text(request: ProviderRequest) -> str:
    return unfence("\n".join(m.content for m in request.messages))
