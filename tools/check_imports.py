"""Import-boundary check: no package imports another package's private (``_``-prefixed) module.

A module may import the private modules of its own package and of the packages above it
(``rubric_eval.steps.evaluate`` may use ``rubric_eval.steps._common`` and ``rubric_eval._config``),
never those of a sibling or a package below (``rubric_eval.steps`` must use ``rubric_eval.engine``'s
public names, not ``rubric_eval.engine._structured``). Every import counts, also those inside functions.

Usage: ``python tools/check_imports.py [src/rubric_eval]``; exits 1 and lists each violation.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT_PACKAGE = "rubric_eval"


def module_name(path: Path, src: Path) -> tuple[str, str]:
    """(module, package) for a file under ``src``: ``a/b/c.py`` -> (``a.b.c``, ``a.b``)."""
    parts = list(path.relative_to(src).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
        return ".".join(parts), ".".join(parts)
    return ".".join(parts), ".".join(parts[:-1])


def imported_names(tree: ast.AST, package: str) -> Iterator[tuple[int, str]]:
    """Every dotted name an import statement reaches: ``from a.b import c`` gives ``a.b.c``."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*base_parts, *([node.module] if node.module else [])])
            else:
                base = node.module or ""
            for alias in node.names:
                yield node.lineno, f"{base}.{alias.name}"


def private_owner(name: str) -> str | None:
    """The package owning the first private component of ``name`` (``a.b._c.d`` -> ``a.b``), if any."""
    parts = name.split(".")
    for i, part in enumerate(parts):
        if part.startswith("_") and not (part.startswith("__") and part.endswith("__")):
            return ".".join(parts[:i])
    return None


def violations(src: Path) -> list[str]:
    found = []
    for path in sorted(src.rglob("*.py")):
        module, package = module_name(path, src.parent)
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for lineno, name in imported_names(tree, package):
            if not name.startswith(ROOT_PACKAGE + "."):
                continue
            owner = private_owner(name)
            if owner is None or package == owner or package.startswith(owner + "."):
                continue
            found.append(f"{path}:{lineno}: {module} imports {name}, private to {owner}")
    return found


def main(argv: list[str]) -> int:
    src = Path(argv[0]) if argv else Path(__file__).resolve().parent.parent / "src" / ROOT_PACKAGE
    found = violations(src)
    for line in found:
        print(line)
    if found:
        print(f"{len(found)} imports of another package's private module", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
