"""The import-boundary check (tools/check_imports.py) passes on the package and catches violations."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

TOOL = Path(__file__).resolve().parents[2] / "tools" / "check_imports.py"


def _check(src: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(TOOL), str(src)], capture_output=True, text=True, check=False)


def test_the_package_imports_no_other_package_private_module() -> None:
    result = _check(TOOL.parents[1] / "src" / "rubric_eval")
    assert result.returncode == 0, result.stdout


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "rubric_eval"
    for name, text in {
        "__init__.py": "",
        "_config.py": "",
        "engine/__init__.py": "",
        "engine/_types.py": "",
        "engine/sub/__init__.py": "",
        "steps/__init__.py": "",
        **files,
    }.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def test_a_sibling_private_module_is_reported_with_file_and_line(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {"steps/evaluate.py": "import os\n\n\ndef f():\n    from rubric_eval.engine._types import X\n"},
    )
    result = _check(root)
    assert result.returncode == 1
    assert (
        "steps/evaluate.py:5: rubric_eval.steps.evaluate imports rubric_eval.engine._types.X" in result.stdout
    )
    assert "private to rubric_eval.engine" in result.stdout


def test_from_package_import_private_module_is_reported(tmp_path: Path) -> None:
    root = _tree(tmp_path, {"steps/evaluate.py": "from rubric_eval.engine import _types\n"})
    assert _check(root).returncode == 1


def test_own_and_ancestor_private_modules_are_allowed(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "engine/sub/mod.py": "from rubric_eval.engine._types import X\nfrom rubric_eval._config import C\n",
            "engine/user.py": "from . import _types\nfrom rubric_eval.engine import Engine\n",
        },
    )
    result = _check(root)
    assert result.returncode == 0, result.stdout
