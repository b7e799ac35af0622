"""Counting a call's input tokens for the plan and the plan-vs-actual line: the estimate is the same
number as over the joined text, and a real tokenizer encodes a message repeated across calls once."""

from __future__ import annotations

import math

from rubric_eval.engine import ChatMessage, ModelConfig
from rubric_eval.engine._plan import CHARS_PER_TOKEN, count_input_tokens, memoised_counter, token_counter


def messages(answer: str) -> list[ChatMessage]:
    return [
        ChatMessage(role="system", content="You grade answers against a rubric."),
        ChatMessage(
            role="user", content="Rubric: accuracy, clarity. Ünïcode and emoji 🙂 count as characters."
        ),
        ChatMessage(role="user", content=answer),
    ]


def test_estimate_equals_the_estimate_over_the_joined_text() -> None:
    counter, method = token_counter(ModelConfig(name="j", provider="openai_compatible", model="local"))
    assert method.startswith("estimate")
    for answer in ["", "a", "ab", "abc", "abcd", "x" * 1001]:
        joined = "\n".join(m.content for m in messages(answer))
        assert count_input_tokens(counter, messages(answer)) == math.ceil(len(joined) / CHARS_PER_TOKEN)
    assert count_input_tokens(counter, []) == 0


def test_a_tokenizer_encodes_each_repeated_message_once() -> None:
    encoded: list[str] = []

    def tokenizer(text: str) -> int:
        encoded.append(text)
        return len(text.split())

    counter = memoised_counter(tokenizer)
    answers = [f"answer number {i}" for i in range(30)]
    totals = [count_input_tokens(counter, messages(a)) for a in answers]
    # Two shared messages once, then only each call's answer; plus one token per joint.
    assert len(encoded) == 2 + len(answers)
    shared = sum(len(m.content.split()) for m in messages("")[:2])
    assert totals == [shared + 3 + 2 for _ in answers]
