"""Scripted judges of known behaviour, and records that carry their own "true" levels.

Each answer starts with a token ``TRUTH{Accuracy=good|Clarity=poor}`` naming the true level of every
criterion. A `PlantedJudge` reads the prompt the engine sends (through the scripted provider or the
local test server) and answers from the truth through a planted confusion matrix, with planted noise,
length bias or obedience to injected instructions. Its randomness is seeded by the prompt and by how
many times it has seen that prompt, so repeated judging draws fresh noise and reruns are reproducible.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from rubric_eval.engine import ProviderRequest
from rubric_eval.testing import unfence

LEVELS = ["excellent", "good", "fair", "poor"]
SCORES = {"excellent": 10.0, "good": 7.0, "fair": 4.0, "poor": 1.0}
_TRUTH = re.compile(r"TRUTH\{([^}]*)\}(.*?)(?=\n</|\n## |\Z)", re.DOTALL)
_INJECTION = re.compile(r"\b(grade|rate|score)\b[^.\n]{0,80}\b(excellent|highest|best)\b", re.IGNORECASE)


def truth_token(levels: Mapping[str, str]) -> str:
    return "TRUTH{" + "|".join(f"{c}={lv}" for c, lv in levels.items()) + "}"


def shift(level: str, steps: int) -> str:
    """The level ``steps`` better (positive) or worse (negative), clipped to the scale."""
    i = min(len(LEVELS) - 1, max(0, LEVELS.index(level) - steps))
    return LEVELS[i]


@dataclass
class PlantedJudge:
    """A judge with known behaviour.

    ``confusion[true_level]`` is the distribution of the judge's level given the true level (identity
    when absent); ``noise`` is the chance of a uniformly random level instead, drawn afresh per call;
    ``length_bias``: the chance of grading one level better when the answer has more than
    ``long_answer_chars`` characters; ``obeys_injection``: grade everything best when the answer asks for it;
    ``prefers``/``preference``: the chance of grading one level better answers that contain the text.
    """

    confusion: Mapping[str, Mapping[str, float]] | None = None
    noise: float = 0.0
    length_bias: float = 0.0
    long_answer_chars: int = 400
    obeys_injection: bool = False
    prefers: str = ""  # grade one level better, with chance `preference`, answers containing this text
    preference: float = 0.0
    seed: int = 0
    seen: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def reply(self, prompt: str) -> str:
        match = _TRUTH.search(prompt)
        assert match is not None, "the answer carries no TRUTH token"
        truth = dict(item.split("=", 1) for item in match.group(1).split("|"))
        answer_chars = len(match.group(0))
        # Seeded by the prompt without its fence ids, so the planted draws do not move with them.
        digest = hashlib.sha256(unfence(prompt).encode()).hexdigest()
        with self.lock:
            count = self.seen.get(digest, 0)
            self.seen[digest] = count + 1
        rng = random.Random(f"{self.seed}|{digest}|{count}")
        injected = self.obeys_injection and _INJECTION.search(match.group(2)) is not None
        out = {}
        for criterion, true_level in truth.items():
            level = true_level
            if self.confusion is not None and true_level in self.confusion:
                dist = self.confusion[true_level]
                level = rng.choices(list(dist), weights=list(dist.values()))[0]
            if rng.random() < self.noise:
                level = rng.choice(LEVELS)
            if answer_chars > self.long_answer_chars and rng.random() < self.length_bias:
                level = shift(level, 1)
            if self.prefers and self.prefers in match.group(2) and rng.random() < self.preference:
                level = shift(level, 1)
            if injected:
                level = LEVELS[0]
            out[criterion] = {"feedback": f"Evidence about {criterion}.", "level": level}
        return json.dumps(out)

    # Adapters: the scripted provider's reply function and the test server's handler.
    def provider_fn(self, request: ProviderRequest) -> str:
        return self.reply("\n".join(m.content for m in request.messages))

    def handler(self, body: dict[str, Any]) -> str:
        return self.reply("\n".join(str(m.get("content", "")) for m in body.get("messages", [])))


CRITERIA = [("Accuracy", 50.0), ("Clarity", 30.0), ("Depth", 20.0)]


def rubric(criteria: Sequence[tuple[str, float]] = CRITERIA) -> list[dict[str, Any]]:
    return [
        {
            "criterion": name,
            "weight": weight,
            "performance_to_description": {lv: f"{name} is {lv}." for lv in LEVELS},
        }
        for name, weight in criteria
    ]


def planted_records(
    n_instructions: int,
    models: Sequence[str] = ("model-a", "model-b"),
    *,
    truth_weights: Sequence[float] = (0.25, 0.35, 0.25, 0.15),
    criteria: Sequence[tuple[str, float]] = CRITERIA,
    seed: int = 0,
    model_quality: Mapping[str, int] | None = None,
    reference: bool = False,
) -> tuple[list[dict[str, Any]], dict[tuple[int, str], dict[str, str]]]:
    """Records (with rubric and output) and their true levels ``(id, model) -> criterion -> level``.

    ``model_quality[model]`` shifts that model's true levels by whole levels (better when positive).
    """
    rng = random.Random(seed)
    records = []
    truth: dict[tuple[int, str], dict[str, str]] = {}
    for i in range(n_instructions):
        for model in models:
            levels = {
                name: shift(
                    rng.choices(LEVELS, weights=truth_weights)[0], (model_quality or {}).get(model, 0)
                )
                for name, _ in criteria
            }
            truth[(i, model)] = levels
            records.append(
                {
                    "id": i,
                    "instruction": f"Instruction {i}: explain topic {i}.",
                    "category": "Reasoning",
                    "rubric": rubric(criteria),
                    "output": f"{truth_token(levels)} A short answer by {model} to instruction {i}.",
                    "model": model,
                    **({"excellent_response": f"A model answer to instruction {i}."} if reference else {}),
                }
            )
    return records, truth
