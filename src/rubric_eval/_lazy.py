"""Lazy re-exports for a package's ``__init__`` (PEP 562): a public name's module is imported on first use.

`rubric_eval evaluate` needs the engine and the evaluation step, not the reports, their HTML, the
statistics and numpy; importing every re-export up front cost 0.5-0.7 CPU-s per command (a tenth of a
fully cached rerun of 12k answers). The package keeps its names, `__all__` and, for type checkers, the
same imports under ``if TYPE_CHECKING:``; tests/foundation/test_lazy_imports.py checks that they agree.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable


def lazy_exports(
    package: str, exports: dict[str, str]
) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package``. ``exports`` maps each module to the names it
    defines, separated by spaces: ``{"rubric_eval.reporting.html": "render_html write_html"}``."""
    where = {name: module for module, names in exports.items() for name in names.split()}
    namespace = sys.modules[package].__dict__

    def __getattr__(name: str) -> object:
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value  # found directly from now on
        return value

    def __dir__() -> list[str]:
        return sorted({*namespace, *where})

    return __getattr__, __dir__
