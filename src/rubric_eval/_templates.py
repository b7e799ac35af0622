"""Versioned prompt templates: Jinja2 files with strict undefined variables.

A template file ``prompts/<step>/<version>.j2`` defines the blocks ``system`` and
``user``. User and model text enters prompts only through the ``delimit`` filter,
which fences it in tags the text cannot forge and neutralises look-alike tags inside it.
Every template, built-in or a user's file, renders in Jinja's immutable sandbox: a template
can format its variables, not reach Python objects, files or processes.
"""

from __future__ import annotations

import functools
import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2
import jinja2.sandbox
from jinja2 import nodes

from rubric_eval.errors import ConfigError

# Characters that are "<" or ">" after Unicode compatibility normalisation (NFKC): ASCII,
# fullwidth and small forms. A tag look-alike starts with one of them.
_LT, _GT = "<\uff1c\ufe64", ">\uff1e\ufe65"
_CANDIDATE = re.compile(f"[{_LT}]([^{_LT}{_GT}]{{0,200}})([{_GT}]?)")
# Tags of every fence in the built-in templates, plus any tag `delimit` is called with: text inside
# one fence may not open or close another either.
_TAGS = {
    "text", "instruction", "answer", "reference_answer", "expert_notes", "brainstormed_rubric",
    "answer_format", "model_name", "category", "summary", "feedback",
}  # fmt: skip
_INVISIBLE = frozenset({"Cf", "Mn", "Me", "Cc"})  # zero-width, joiners, combining marks, controls


def _skeleton(text: str) -> str:
    """What a reader would see: compatibility forms folded, invisible characters dropped, lower case."""
    folded = unicodedata.normalize("NFKC", text)
    return "".join(
        ch for ch in folded if unicodedata.category(ch) not in _INVISIBLE or ch in "\t\n "
    ).casefold()


@functools.lru_cache(maxsize=8)
def _tag_pattern(tags: frozenset[str]) -> re.Pattern[str]:
    names = "|".join(sorted(map(re.escape, tags), key=len, reverse=True))
    return re.compile(rf"\s*/?\s*(?:{names})(?![a-z0-9_])")


def _neutralise(body: str, tags: frozenset[str]) -> str:
    pattern = _tag_pattern(tags)

    def replace(match: re.Match[str]) -> str:
        inner, close = match.group(1), match.group(2)
        if not pattern.match(_skeleton(inner)):
            return match.group(0)
        return f"[{inner}]" if close else f"[{inner}"

    return _CANDIDATE.sub(replace, body)


def delimit(text: object, tag: str = "text") -> str:
    """Fence untrusted text in ``<tag id="H">...</tag id="H">``, where H derives from the text's hash.

    The text cannot contain its own closing fence (it would have to contain its own hash), and
    look-alikes of any fence tag inside it (other case, spacing, attributes, fullwidth or small
    forms, zero-width characters) become ``[tag ...]``, so they cannot open or close a fence either.
    """
    if not re.fullmatch(r"[a-z_]+", tag):
        raise ValueError(f"tag must be lowercase letters and underscores, got {tag!r}")
    _TAGS.add(tag)
    body = "" if text is None else str(text)
    body = _neutralise(body, frozenset(_TAGS))
    fence = hashlib.sha256(body.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    return f'<{tag} id="{fence}">\n{body}\n</{tag} id="{fence}">'


ROLES = ("system", "user", "answer")
# What a block can reach besides the names it reads: other blocks, other templates.
_OPAQUE_NODES = (nodes.Include, nodes.Import, nodes.FromImport, nodes.Extends)
_OPAQUE_NAMES = frozenset({"self", "super"})


def _block_reads(tree: nodes.Template) -> dict[str, frozenset[str] | None]:
    """The variables each block reads; None where that cannot be known (it includes, imports or
    extends another template, or calls another block). A block is rendered with the variables only,
    so what it renders depends on these names and nothing else."""
    reads: dict[str, frozenset[str] | None] = {}
    opaque = any(True for _ in tree.find_all(nodes.Extends))
    for block in tree.find_all(nodes.Block):
        names = frozenset(n.name for n in block.find_all(nodes.Name) if n.ctx == "load")
        unknown = opaque or bool(names & _OPAQUE_NAMES) or any(True for _ in block.find_all(_OPAQUE_NODES))
        reads[block.name] = None if unknown else names
    return reads


@dataclass(frozen=True)
class PromptTemplate:
    """A loaded template: its id (``step/version``), content hash, and renderer."""

    template_id: str
    sha256: str
    _template: jinja2.Template
    _reads: dict[str, frozenset[str] | None] = field(default_factory=dict, compare=False)

    @property
    def version_key(self) -> str:
        """What identifies this exact prompt text in cache keys."""
        return f"{self.template_id}@{self.sha256[:16]}"

    def render(self, **variables: Any) -> list[dict[str, Any]]:
        """Render to chat messages: a system message (if the block is non-empty) and a user message.

        An ``answer`` block is appended to the user message, which then carries ``cache_prefix_chars``:
        the length of the part before it, shared by every call that differs only in the answer.
        """
        return self.assemble(self.render_blocks(ROLES, variables))

    def roles_without(self, name: str) -> tuple[str, ...]:
        """The blocks (of ``system``, ``user``, ``answer``) known not to read the variable ``name``:
        their text is the same for every call that differs only in it, so it can be rendered once."""
        shared = []
        for role in ROLES:
            reads = self._reads.get(role)
            if role in self._template.blocks and reads is not None and name not in reads:
                shared.append(role)
        return tuple(shared)

    def render_blocks(self, roles: tuple[str, ...], variables: dict[str, Any]) -> dict[str, str]:
        """The stripped text of each of ``roles``' blocks the template has; `assemble` makes messages."""
        texts: dict[str, str] = {}
        for role in roles:
            block = self._template.blocks.get(role)
            if block is None:
                continue
            try:
                texts[role] = "".join(block(self._template.new_context(variables))).strip()
            except jinja2.exceptions.SecurityError as exc:
                raise ConfigError(f"template {self.template_id} tried something unsafe: {exc}") from None
            except jinja2.TemplateError as exc:
                raise ConfigError(f"template {self.template_id}: {exc}") from None
        return texts

    def assemble(self, texts: dict[str, str]) -> list[dict[str, Any]]:
        """Chat messages from every block's text (`render_blocks`), as `render` returns them."""
        messages: list[dict[str, Any]] = []
        for role in ROLES:
            text = texts.get(role)
            if text is None:
                continue
            if role == "answer" and messages and messages[-1]["role"] == "user":
                # The user message's shared block ends where the per-answer tail begins: providers
                # mark it as a prompt-cache prefix (see docs/large_runs.md, "Prompt caching").
                shared = messages[-1]["content"] + "\n\n"
                messages[-1] = {"role": "user", "content": shared + text, "cache_prefix_chars": len(shared)}
            elif text:
                messages.append({"role": "user" if role == "answer" else role, "content": text})
        if not any(m["role"] == "user" for m in messages):
            raise ConfigError(f"template {self.template_id} rendered no user message")
        return messages


@functools.lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    env = jinja2.sandbox.ImmutableSandboxedEnvironment(
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
    """Load a built-in template (``evaluate/v2``) or a template file path."""
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
        env = _environment()
        template = env.from_string(source)
        reads = _block_reads(env.parse(source))
    except jinja2.TemplateSyntaxError as exc:
        raise ConfigError(
            f"template {template_id}: syntax error on line {exc.lineno}: {exc.message}"
        ) from None
    digest = hashlib.sha256(source.encode("utf-8")).hexdigest()
    return PromptTemplate(template_id=template_id, sha256=digest, _template=template, _reads=reads)
