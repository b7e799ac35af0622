"""Versioned prompt templates: Jinja2 files with strict undefined variables.

A template file ``prompts/<step>/<version>.j2`` defines the blocks ``system`` and
``user``. User and model text enters prompts only through the ``delimit`` filter,
which fences it in tags and neutralises look-alike tags inside it.
"""

from __future__ import annotations

import functools
import hashlib
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2

from rubric_eval.errors import ConfigError


def delimit(text: object, tag: str = "text") -> str:
    """Fence untrusted text in ``<tag>...</tag>``; tag look-alikes inside become ``[tag]``."""
    if not re.fullmatch(r"[a-z_]+", tag):
        raise ValueError(f"tag must be lowercase letters and underscores, got {tag!r}")
    body = "" if text is None else str(text)
    body = re.sub(rf"<\s*(/?)\s*{tag}\s*>", rf"[\1{tag}]", body, flags=re.IGNORECASE)
    return f"<{tag}>\n{body}\n</{tag}>"


@dataclass(frozen=True)
class PromptTemplate:
    """A loaded template: its id (``step/version``), content hash, and renderer."""

    template_id: str
    sha256: str
    _template: jinja2.Template

    @property
    def version_key(self) -> str:
        """What identifies this exact prompt text in cache keys."""
        return f"{self.template_id}@{self.sha256[:16]}"

    def render(self, **variables: Any) -> list[dict[str, str]]:
        """Render to chat messages: a system message (if the block is non-empty) and a user message."""
        messages: list[dict[str, str]] = []
        for role in ("system", "user"):
            block = self._template.blocks.get(role)
            if block is None:
                continue
            text = "".join(block(self._template.new_context(variables))).strip()
            if text:
                messages.append({"role": role, "content": text})
        if not any(m["role"] == "user" for m in messages):
            raise ConfigError(f"template {self.template_id} rendered no user message")
        return messages


@functools.lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # prompts are plain text; untrusted text goes through `delimit`
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["delimit"] = delimit
    return env


def builtin_template_names() -> list[str]:
    root = resources.files("rubric_eval") / "prompts"
    names = []
    for step_dir in root.iterdir():
        if step_dir.is_dir():
            names += [f"{step_dir.name}/{f.name[:-3]}" for f in step_dir.iterdir() if f.name.endswith(".j2")]
    return sorted(names)


@functools.lru_cache(maxsize=64)
def load_template(name: str) -> PromptTemplate:
    """Load a built-in template (``evaluate/v1``) or a template file path."""
    path = Path(name)
    if name.endswith(".j2") and path.is_file():
        source = path.read_text(encoding="utf-8")
        template_id = str(path)
    else:
        resource = resources.files("rubric_eval") / "prompts" / f"{name}.j2"
        if not resource.is_file():
            raise ConfigError(
                f"unknown prompt template {name!r}; built-in templates: {', '.join(builtin_template_names())}"
            )
        source = resource.read_text(encoding="utf-8")
        template_id = name
    try:
        template = _environment().from_string(source)
    except jinja2.TemplateSyntaxError as exc:
        raise ConfigError(
            f"template {template_id}: syntax error on line {exc.lineno}: {exc.message}"
        ) from None
    digest = hashlib.sha256(source.encode("utf-8")).hexdigest()
    return PromptTemplate(template_id=template_id, sha256=digest, _template=template)
