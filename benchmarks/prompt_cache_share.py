"""How much of the judge's input a provider prompt cache can serve: evaluate/v1 vs evaluate/v2.

    python benchmarks/prompt_cache_share.py   # the sampled set (../shared) and the built-in benchmark

For every record the judge prompt is rendered with each template; tokens are 4 characters each
(the engine's offline estimate). Printed per data set and template:

- ``prefix``: the share of a prompt's tokens (messages plus the answer's JSON schema, which both
  APIs cache with the prompt) that every answer to the same instruction shares. In v1 that is the
  text up to the answer (the grading instructions after the answer are identical too, but no prefix
  cache can reach them); in v2 everything but the answer.
- ``cacheable with k models``: the share of all input tokens a prefix cache serves when k models'
  answers to each instruction are judged together: each instruction's first call writes the prefix,
  the other k - 1 read it. The sampled set has one model's answers, so these reuse its answers'
  lengths for the other models; the built-in benchmark has no answers, so its reference answers
  stand in for them.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from rubric_eval._templates import load_template
from rubric_eval.datasets import load_benchmark
from rubric_eval.engine._prompt_cache import shared_prefix
from rubric_eval.records import Record
from rubric_eval.steps.evaluate import answer_schema, judge_messages

SAMPLED = Path(__file__).resolve().parents[2] / "shared" / "data" / "rubriceval_sampled"


def tokens(text: str) -> int:
    return math.ceil(len(text) / 4)


def measure(records: list[Record], template_name: str) -> tuple[int, int]:
    """(shared tokens, total tokens) summed over the records' judge prompts."""
    template = load_template(template_name)
    shared_total = all_total = 0
    for record in records:
        assert record.rubric is not None and record.output is not None
        messages = judge_messages(template, record)
        schema = tokens(json.dumps(answer_schema(record.rubric)))
        whole = sum(tokens(m.content) for m in messages) + schema
        prefix = shared_prefix(messages)
        if prefix is None:  # v1: no marked prefix; the shared part ends where the answer section starts
            text = "\n".join(m.content for m in messages)
            prefix = text[: text.index("## Answer to grade")]
        shared_total += min(whole, tokens(prefix) + schema)
        all_total += whole
    return shared_total, all_total


def rows(name: str, records: list[Record]) -> list[str]:
    out = []
    for template_name in ("evaluate/v1", "evaluate/v2"):
        shared, total = measure(records, template_name)
        share = shared / total
        ks = "  ".join(f"k={k}: {share * (k - 1) / k:5.1%}" for k in (2, 5, 10))
        out.append(
            f"{name:<22} {template_name:<12} {len(records):>5} {total / len(records):>8.0f} "
            f"{share:>7.1%}   {ks}"
        )
    return out


def main() -> None:
    header = (
        f"{'data':<22} {'template':<12} {'calls':>5} {'tok/call':>8} {'prefix':>7}   cacheable with k models"
    )
    print(header)
    print("-" * len(header))
    sampled_file = SAMPLED / "outputs_Mixtral-8x22B-Instruct-v0.1.json"
    if sampled_file.is_file():
        data: list[dict[str, Any]] = json.loads(sampled_file.read_text())
        for row in rows("sampled (Mixtral)", [Record.model_validate(r) for r in data]):
            print(row)
    else:
        print(f"(sampled set not found at {sampled_file})")
    builtin = [
        r.model_copy(update={"output": r.excellent_response or ""})
        for r in load_benchmark()
        if r.rubric is not None
    ]
    for row in rows("built-in (references)", builtin):
        print(row)


if __name__ == "__main__":
    main()
