"""Start-up: `rubric_eval evaluate` imports what grading needs, not the reports, statistics or numpy;
the packages that re-export lazily (PEP 562) still give every public name."""

from __future__ import annotations

import ast
import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from rubric_eval.testing import OpenAICompatibleServer

SRC = Path(__file__).resolve().parents[2] / "src"
# Never needed to grade answers; each costs tens of milliseconds or more to import.
NOT_FOR_EVALUATE = (
    "numpy",
    "rubric_eval.reporting.html",
    "rubric_eval.reporting.report",
    "rubric_eval.reporting.leaderboard",
    "rubric_eval.trust._stats",
    "rubric_eval.demo",
)
LAZY_PACKAGES = ("rubric_eval", "rubric_eval.reporting", "rubric_eval.trust")


def record(i: int) -> dict[str, object]:
    levels = {level: f"{level} answer" for level in ("excellent", "good", "poor")}
    return {
        "id": i,
        "instruction": f"Question {i}?",
        "rubric": [{"criterion": "Accuracy", "weight": 100, "performance_to_description": levels}],
        "output": f"Answer {i}.",
        "model": "m",
    }


def _loaded_after(code: str, env: dict[str, str] | None = None) -> set[str]:
    probe = f"{code}\nimport sys, json\nprint(json.dumps(sorted(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=False, env=env, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return set(json.loads(result.stdout.splitlines()[-1]))


def test_importing_the_evaluation_step_loads_no_report_statistics_or_numpy() -> None:
    loaded = _loaded_after(
        "import rubric_eval.steps.evaluate_file, rubric_eval.pipeline, rubric_eval.cli._evaluate"
    )
    assert not loaded & set(NOT_FOR_EVALUATE)


def test_the_evaluate_command_loads_no_report_statistics_or_numpy(
    openai_server: OpenAICompatibleServer, tmp_path: Path
) -> None:
    inp, out = tmp_path / "outputs.json", tmp_path / "evaluations.json"
    inp.write_text(json.dumps([record(i) for i in range(3)]))
    argv = ["rubric_eval", "evaluate", "--input_path", str(inp), "--output_path", str(out),
            "--evaluator_configs", "openai/gpt-4o-mini", "--cache_dir", str(tmp_path / "cache")]  # fmt: skip
    code = (
        f"import runpy, sys\nsys.argv = {argv!r}\n"
        "try:\n    runpy.run_module('rubric_eval', run_name='__main__')\nexcept SystemExit as exit:\n"
        "    assert not exit.code, exit.code"
    )
    env = {"OPENAI_BASE_URL": openai_server.base_url, "OPENAI_API_KEY": "sk-test", "PATH": "",
           "PYTHONPATH": str(SRC)}  # fmt: skip
    loaded = _loaded_after(code, env)
    assert len(json.loads(out.read_text())) == 3  # the command ran to the end
    assert "rubric_eval.steps.evaluate" in loaded and not loaded & set(NOT_FOR_EVALUATE)


@pytest.mark.parametrize("package", LAZY_PACKAGES)
def test_every_public_name_of_a_lazy_package_resolves_to_the_object_it_names(package: str) -> None:
    module = importlib.import_module(package)
    # The imports under `if TYPE_CHECKING:` (what type checkers see) are what the package resolves.
    tree = ast.parse(Path(module.__file__ or "").read_text(encoding="utf-8"))
    typed = {
        alias.asname or alias.name: node.module
        for block in tree.body
        if isinstance(block, ast.If) and ast.unparse(block.test) == "TYPE_CHECKING"
        for node in block.body
        if isinstance(node, ast.ImportFrom) and node.module
        for alias in node.names
    }
    assert typed and set(typed) <= set(module.__all__)
    for name in module.__all__:
        value = getattr(module, name)
        if name in typed:
            assert value is getattr(importlib.import_module(typed[name]), name), name
        assert name in dir(module)
    with pytest.raises(AttributeError, match="no attribute 'not_a_name'"):
        module.not_a_name  # noqa: B018
