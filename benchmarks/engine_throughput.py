"""Engine throughput benchmark against the local OpenAI-compatible test server.

    python benchmarks/engine_throughput.py                 # full run (about 1 minute)
    python benchmarks/engine_throughput.py --calls 500     # quicker

The server runs in its own process (so it does not share the client's CPU) and answers
after --latency seconds. Each client variant runs in a fresh child process, so CPU time and
peak RSS are its own:

- ``aiohttp``: a bare aiohttp loop (the floor: what any Python client costs)
- ``openai-sdk``: ``AsyncOpenAI`` on its default httpx transport
- ``openai-sdk-aiohttp``: ``AsyncOpenAI(http_client=DefaultAioHttpClient())``
- ``engine``: ``rubric_eval.Engine`` with the openai provider, SQLite cache on, free-text answers
- ``engine-structured``: the same with a pydantic answer (native json_schema + validation)

Then a rate-limited scenario: the server allows --limit requests/s and the engine runs at
concurrency 128 with client-side pacing at that rate; every call must succeed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import subprocess
import sys
import tempfile
import time
from typing import Any

from rubric_eval.testing import ServerProcess

VARIANTS = ["aiohttp", "openai-sdk", "openai-sdk-aiohttp", "engine", "engine-structured"]


def _prompt(i: int) -> list[dict[str, str]]:
    return [
        {"role": "system", "content": "You are a careful grader."},
        {"role": "user", "content": f"Grade answer number {i} against the rubric. " + "context " * 40},
    ]


async def _bare(base_url: str, n: int, concurrency: int) -> int:
    import aiohttp

    ok = 0
    semaphore = asyncio.Semaphore(concurrency)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:

        async def one(i: int) -> None:
            nonlocal ok
            async with semaphore:
                body = {"model": "gpt-4o-mini", "messages": _prompt(i)}
                async with session.post(f"{base_url}/chat/completions", json=body) as response:
                    data = await response.json()
                    ok += bool(data["choices"][0]["message"]["content"])

        await asyncio.gather(*(one(i) for i in range(n)))
    return ok


async def _sdk(base_url: str, n: int, concurrency: int, aiohttp_transport: bool) -> int:
    import openai

    extra: dict[str, Any] = {"http_client": openai.DefaultAioHttpClient()} if aiohttp_transport else {}
    client = openai.AsyncOpenAI(base_url=base_url, api_key="sk-bench", max_retries=0, **extra)
    semaphore = asyncio.Semaphore(concurrency)
    ok = 0

    async def one(i: int) -> None:
        nonlocal ok
        async with semaphore:
            reply = await client.chat.completions.create(model="gpt-4o-mini", messages=_prompt(i))  # type: ignore[arg-type]
            ok += bool(reply.choices[0].message.content)

    await asyncio.gather(*(one(i) for i in range(n)))
    await client.close()
    return ok


def _engine(base_url: str, n: int, concurrency: int, structured: bool, rpm: float | None) -> dict[str, Any]:
    from pydantic import BaseModel

    from rubric_eval._config import AnnotatorConfig
    from rubric_eval.engine import ChatMessage, Engine, EngineSettings, LLMCall

    class Grade(BaseModel):
        level: str
        score: int

    config = AnnotatorConfig(
        name="bench",
        step="evaluator",
        provider="openai",
        model="gpt-4o-mini",
        params={"temperature": 0.0},
        provider_options={"base_url": base_url},
    )
    output_type: Any = Grade if structured else str
    calls = [
        LLMCall(config, [ChatMessage(**m) for m in _prompt(i)], output_type, "bench/v1@0") for i in range(n)
    ]
    with tempfile.TemporaryDirectory() as cache_dir:
        settings = EngineSettings(
            max_concurrency=concurrency,
            requests_per_minute=rpm,
            cache_dir=cache_dir,
            progress="quiet",
            backoff_base_s=0.5,
            max_attempts=6,
        )
        engine = Engine(settings)
        results = engine.run(calls)
    return {"ok": sum(r.ok for r in results), "api_calls": engine.totals.api_calls}


def child(args: argparse.Namespace) -> None:
    """Run one variant and print one JSON line: ok count, wall, CPU and peak RSS."""
    started_wall, started_cpu = time.perf_counter(), time.process_time()
    extra: dict[str, Any] = {}
    if args.variant == "aiohttp":
        ok = asyncio.run(_bare(args.base_url, args.calls, args.concurrency))
    elif args.variant.startswith("openai-sdk"):
        ok = asyncio.run(_sdk(args.base_url, args.calls, args.concurrency, args.variant.endswith("aiohttp")))
    else:
        extra = _engine(
            args.base_url, args.calls, args.concurrency, args.variant == "engine-structured", args.rpm
        )
        ok = extra.pop("ok")
    wall = time.perf_counter() - started_wall
    cpu = time.process_time() - started_cpu
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"ok": ok, "wall_s": wall, "cpu_s": cpu, "peak_rss_mib": peak_mib, **extra}))


def run_variant(
    variant: str, base_url: str, calls: int, concurrency: int, rpm: float | None = None
) -> dict[str, Any]:
    command = [
        sys.executable, __file__, "--child", "--variant", variant, "--base-url", base_url,
        "--calls", str(calls), "--concurrency", str(concurrency),
    ]  # fmt: skip
    if rpm:
        command += ["--rpm", str(rpm)]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    return dict(json.loads(output.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument(
        "--limit", type=float, default=100.0, help="server requests/s in the rate-limited run"
    )
    parser.add_argument("--limit-calls", type=int, default=1000)
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--variant", help=argparse.SUPPRESS)
    parser.add_argument("--base-url", help=argparse.SUPPRESS)
    parser.add_argument("--rpm", type=float, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return

    ideal = args.concurrency / args.latency
    print(f"{args.calls} calls, concurrency {args.concurrency}, server latency {args.latency}s: ", end="")
    print(f"ideal {ideal:.0f}/s")
    rows = []
    with ServerProcess(["--latency", str(args.latency)]) as server:
        for variant in args.variants.split(","):
            stats = run_variant(variant, server.base_url, args.calls, args.concurrency)
            rate = stats["ok"] / stats["wall_s"]
            rows.append((variant, stats, rate))
    bare_cpu = next((s["cpu_s"] for v, s, _ in rows if v == "aiohttp"), None)
    header = (
        f"{'client':<20} {'ok':>6} {'calls/s':>8} {'/ideal':>7} {'CPU ms/call':>12} {'x aiohttp':>10} "
        f"{'peak RSS MiB':>13}"
    )
    print(header)
    print("-" * len(header))
    for variant, stats, rate in rows:
        cpu_ms = stats["cpu_s"] / args.calls * 1000
        vs_bare = f"{stats['cpu_s'] / bare_cpu:.2f}" if bare_cpu else "-"
        print(
            f"{variant:<20} {stats['ok']:>6} {rate:>8.1f} {rate / ideal:>7.3f} {cpu_ms:>12.3f} {vs_bare:>10} "
            f"{stats['peak_rss_mib']:>13.0f}"
        )

    print(
        f"\nrate-limited server: {args.limit:.0f} req/s, {args.limit_calls} calls, concurrency 128, "
        f"latency {args.latency}s"
    )
    for label, rpm in (("engine, pacing at the limit", args.limit * 60), ("engine, no pacing", None)):
        with ServerProcess(["--latency", str(args.latency), "--rate-limit", str(args.limit)]) as server:
            stats = run_variant("engine", server.base_url, args.limit_calls, 128, rpm)
            server_stats = server.stats()
        statuses = server_stats["statuses"]
        rate = stats["ok"] / stats["wall_s"]
        print(
            f"  {label:<28} ok {stats['ok']}/{args.limit_calls}, {rate:.1f} calls/s "
            f"({rate / args.limit:.3f} of the limit), 429s: {statuses.get('429', 0)}, "
            f"HTTP requests: {server_stats['requests']}"
        )


if __name__ == "__main__":
    main()
