"""Local-model performance: load time, prompt and generation speed, judge-call latency, the demo.

    python benchmarks/local_model.py              # embedded SmolLM2-135M, ~2-4 minutes on 2 cores
    python benchmarks/local_model.py --model /path/to/model.gguf --threads 8 --skip-demo

Runs through the provider (the same path the pipeline uses), without the cache. Prints one line
per measurement; the machine's load average is printed first and last because llama.cpp slows
down sharply when other processes keep the cores busy.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from typing import Any

from rubric_eval._config import resolve_config
from rubric_eval._templates import load_template
from rubric_eval.datasets import load_benchmark
from rubric_eval.engine import ChatMessage, ProviderRequest, create_provider
from rubric_eval.engine.providers.local import default_threads
from rubric_eval.steps.evaluate import answer_model, judge_messages


def _load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.1f} (1 min), {five:.1f} (5 min) on {os.cpu_count()} cores"


def _provider(model: str, threads: int) -> Any:
    config = resolve_config("evaluator", "local").model_copy(
        update={"model": model, "provider_options": {"n_threads": threads, "n_threads_batch": threads}}
    )
    return create_provider(config)


def _ask(provider: Any, request: ProviderRequest) -> tuple[float, Any]:
    started = time.perf_counter()
    response = asyncio.run(provider.complete(request))
    return time.perf_counter() - started, response


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", default="smollm2-135m-instruct")
    parser.add_argument("--threads", type=int, nargs="*", default=None, help="thread counts to compare")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-demo", action="store_true")
    args = parser.parse_args()
    print(_load())
    threads = args.threads or sorted({default_threads(), os.cpu_count() or 1})
    records = [r for r in load_benchmark() if r.rubric is not None and r.excellent_response]
    template = load_template("evaluate/v1")

    for n in threads:
        provider = _provider(args.model, n)
        started = time.perf_counter()
        _ask(
            provider,
            ProviderRequest(
                model=args.model, messages=[ChatMessage(role="user", content="Hi")], params={"max_tokens": 1}
            ),
        )
        print(f"\nthreads={n}: first call (loads the model) {time.perf_counter() - started:.2f} s")

        free = ProviderRequest(
            model=args.model,
            messages=[ChatMessage(role="user", content="Write a detailed essay on the history of tea.")],
            params={"temperature": 0.0, "max_tokens": 200, "repeat_penalty": 1.15},
        )
        runs = [_ask(provider, free) for _ in range(args.repeats)]
        rates = [r.output_tokens / s for s, r in runs]
        print(
            f"  free text: {statistics.median(rates):.0f} tokens/s generated "
            f"(median of {len(runs)} answers of 200 tokens)"
        )

        cold, warm_rates, prompt_sizes, answer_sizes = [], [], [], []
        for record in records[: args.repeats]:
            assert record.rubric is not None
            graded = record.model_copy(update={"output": record.excellent_response})
            judge = ProviderRequest(
                model=args.model,
                messages=judge_messages(template, graded),
                params={"temperature": 0.0, "max_tokens": 320},
                response_schema=answer_model(record.rubric).model_json_schema(),
            )
            seconds, response = _ask(provider, judge)  # a new prompt: read in full
            cold.append(seconds)
            prompt_sizes.append(response.input_tokens)
            answer_sizes.append(response.output_tokens)
            seconds, response = _ask(provider, judge)  # same prompt again: llama.cpp reuses it
            warm_rates.append(response.output_tokens / seconds)
        reading = [
            p / max(c - a / w, 1e-9)
            for p, c, a, w in zip(prompt_sizes, cold, answer_sizes, warm_rates, strict=True)
        ]
        print(
            f"  judge call, new prompt of {min(prompt_sizes)}-{max(prompt_sizes)} tokens, "
            f"{min(answer_sizes)}-{max(answer_sizes)} answer tokens (grammar-constrained JSON): "
            f"median {statistics.median(cold):.1f} s (range {min(cold):.1f}-{max(cold):.1f} s)"
        )
        print(
            f"  of which: prompt reading ~{statistics.median(reading):.0f} tokens/s, "
            f"constrained generation {statistics.median(warm_rates):.0f} tokens/s"
        )

    if not args.skip_demo:
        from rubric_eval.demo import run_demo

        with tempfile.TemporaryDirectory() as folder:
            result = run_demo(folder, progress="quiet")
            steps = ", ".join(f"{k} {v:.0f} s" for k, v in result.step_seconds.items())
            print(
                f"\ndemo (3 instructions, cold cache): {result.wall_s:.0f} s ({steps}); "
                f"{result.totals.api_calls} calls, {result.totals.input_tokens} tokens in, "
                f"{result.totals.output_tokens} out"
            )
            rerun = run_demo(folder, progress="quiet")
            print(f"demo rerun (cache): {rerun.wall_s:.1f} s, {rerun.totals.api_calls} model calls")
    print("\n" + _load())


if __name__ == "__main__":
    main()
