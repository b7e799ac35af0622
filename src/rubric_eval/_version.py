"""The package version: the one place it is written (pyproject.toml reads it through hatch)."""

from __future__ import annotations

__version__ = "0.2.0"


def package_version() -> str:
    """``rubric_eval==<version>``, as written into records and reports."""
    return f"rubric_eval=={__version__}"
