"""Builders for the robustness tests: records, judge handlers, CLI runs, secret scans."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from rubric_eval.cli import cli

LEVELS = ["excellent", "good", "fair", "poor"]
CRITERIA = ("Accuracy", "Clarity")


def rubric(*criteria: str) -> list[dict[str, Any]]:
    names = criteria or CRITERIA
    return [
        {
            "criterion": name,
            "weight": 100 / len(names),
            "performance_to_description": {level: f"{name} is {level}." for level in LEVELS},
        }
        for name in names
    ]


def record(index: int, **fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": index,
        "instruction": f"Question {index}: explain something.",
        "rubric": rubric(),
        "output": f"Answer number {index}.",
        "model": "model-a",
    }
    base.update(fields)
    return base


def write_records(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text(json.dumps(records), encoding="utf-8")
    return path


def grading(level: Any = "good", criteria: tuple[str, ...] = CRITERIA) -> str:
    return json.dumps({name: {"feedback": f"Evidence about {name}.", "level": level} for name in criteria})


def judge_prompt(body: dict[str, Any]) -> str:
    messages = body.get("messages") or []
    return "\n".join(str(m.get("content")) for m in messages if isinstance(m, dict))


def is_judge(body: dict[str, Any]) -> bool:
    return "Answer to grade" in judge_prompt(body)


def run_cli(args: list[str]) -> Result:
    return CliRunner().invoke(cli, args, catch_exceptions=False)


def judge_config(path: Path, base_url: str, **extra: Any) -> Path:
    """A YAML judge config (openai provider) pointing at ``base_url``."""
    body: dict[str, Any] = {
        "name": "test-judge",
        "provider": "openai",
        "model": "gpt-4o-mini",
        "params": {"temperature": 0.0, "max_tokens": 2000},
        "provider_options": {"base_url": base_url},
    }
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(body.get(key), dict):
            body[key] = {**body[key], **value}
        else:
            body[key] = value
    path.write_text(json.dumps(body), encoding="utf-8")  # JSON is YAML
    return path


def files_containing(root: Path, needles: list[str]) -> dict[str, list[str]]:
    """Every file under ``root`` (bytes, SQLite files and their WAL included) that holds a needle."""
    found: dict[str, list[str]] = {}
    for path in root.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            hits = [n for n in needles if n.encode() in data]
            if hits:
                found[str(path)] = hits
    return found
