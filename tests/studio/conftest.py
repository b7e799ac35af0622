"""Studio fixtures: record files and the Studio's app behind aiohttp's test client."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from rubric_eval import resolve_config
from rubric_eval.engine import EngineSettings
from rubric_eval.studio import Assistant, RecordStore, StudioState, create_app
from rubric_eval.testing import OpenAICompatibleServer

CONFIG = "openai/test-llm"


def rubric(names: list[str], weights: list[float] | None = None, prefix: str = "") -> list[dict[str, Any]]:
    weights = weights or [100.0 / len(names)] * len(names)
    return [
        {
            "criterion": name,
            "weight": weight,
            "performance_to_description": {
                level: f"{prefix}{name} at {level}" for level in ("excellent", "good", "fair", "poor")
            },
        }
        for name, weight in zip(names, weights, strict=True)
    ]


def llm_rubric_records() -> list[dict[str, Any]]:
    """Three records whose brainstorm and rubric were 'written by the LLM' (provenance with the draft)."""
    from rubric_eval.provenance import llm_provenance

    records = []
    for i, names in enumerate(
        [["Correctness", "Clarity"], ["Accuracy", "Depth", "Style"], ["Code", "Tests"]]
    ):
        brainstorm = [
            {"criterion": n, "weight": 100 / len(names), "checklist": [f"check {n}"]} for n in names
        ]
        rub = rubric(names)
        records.append(
            {
                "id": f"r{i}",
                "category": "Math" if i < 2 else "Coding",
                "instruction": f"Instruction {i}",
                "useful_info_to_eval_instruction": f"notes {i}",
                "excellent_response": f"reference {i}",
                "custom_field": {"kept": i},
                "brainstormed_rubric": brainstorm,
                "brainstormed_rubric_provenance": llm_provenance(brainstorm, config=CONFIG).model_dump(
                    mode="json", exclude_none=True
                ),
                "rubric": rub,
                "rubric_provenance": llm_provenance(rub, config=CONFIG, input_value=brainstorm).model_dump(
                    mode="json", exclude_none=True
                ),
            }
        )
    return records


def write(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text(json.dumps(records, indent=2), encoding="utf-8")
    return path


def read(path: Path) -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))
    return data


@pytest.fixture
def rubric_file(tmp_path: Path) -> Path:
    return write(tmp_path / "rubrics.json", llm_rubric_records())


def make_state(path: Path, settings: EngineSettings) -> StudioState:
    assistant = Assistant(
        brainstormer=resolve_config("brainstormer", CONFIG),
        rubric_generator=resolve_config("rubric_generator", CONFIG),
        evaluator=resolve_config("evaluator", CONFIG),
        settings=settings,
    )
    return StudioState(RecordStore(path), assistant, token="test-token")


@pytest.fixture
async def client(
    rubric_file: Path, engine_settings: EngineSettings, openai_env: OpenAICompatibleServer
) -> AsyncIterator[TestClient[Any, Any]]:
    """The Studio's API on `rubric_file`, its LLM calls going to the local test server."""
    async with TestClient(TestServer(create_app(make_state(rubric_file, engine_settings)))) as test_client:
        test_client.session.headers["X-Studio-Token"] = "test-token"
        yield test_client
