"""Endpoint-pool throughput: one judge over 3 local servers of different speeds, one killed mid-run.

    python benchmarks/endpoint_pool.py                    # 2,000 calls, about 30 s
    python benchmarks/endpoint_pool.py --calls 500        # quicker

Each server is the OpenAI-compatible test server in its own process with its own latency; each
replica gets ``--concurrency`` slots in the pool, so the ideal rate of the pool is the sum of
concurrency / latency over the replicas alive at each moment. Two rows, same run:

- ``one endpoint (peer)``: a single server with the pool's summed ideal rate (the fastest replica's
  latency, proportionally more slots), without a pool: what the machine allows this run.
- ``pool, all alive``: the three replicas for the whole run.
- ``pool, one killed``: the middle replica is SIGKILLed after ``--kill-after`` seconds; its calls in
  flight fail over to the others. The ideal then counts its capacity only while it was alive.

Printed: calls that succeeded (must be all), achieved calls/s, ratio to the ideal, the answers each
replica sent (HTTP 200s), and the client's CPU ms per call (engine + pool + SQLite cache, structured answers).
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from typing import Any

from pydantic import BaseModel

from rubric_eval._config import AnnotatorConfig
from rubric_eval.engine import ChatMessage, Engine, EngineSettings, LLMCall
from rubric_eval.testing import ServerProcess


class Grade(BaseModel):
    level: str
    score: int


def _calls(config: AnnotatorConfig, n: int, tag: str) -> list[LLMCall[Any]]:
    text = "Grade the answer against the rubric. " + "context " * 60
    return [
        LLMCall(config, [ChatMessage(role="user", content=f"{tag} {i}: {text}")], Grade, "bench/v1@0")
        for i in range(n)
    ]


def ideal_seconds(rates: list[float], calls: int, killed: int | None, kill_at: float | None) -> float:
    """How long ``calls`` take at the summed rates, the killed replica counting until ``kill_at``."""
    total = sum(rates)
    if killed is None or kill_at is None or total * kill_at >= calls:
        return calls / total
    rest = total - rates[killed]
    return kill_at + (calls - total * kill_at) / rest


def run(args: argparse.Namespace, *, kill: bool, peer: bool = False) -> dict[str, Any]:
    latencies = [float(x) for x in args.latencies.split(",")]
    rates = [args.concurrency / lat for lat in latencies]
    if peer:  # one server with the pool's summed ideal rate at the fastest replica's latency
        latencies = latencies[:1]
        rates = [sum(rates)]
    servers = [ServerProcess(["--latency", str(lat)]).start() for lat in latencies]
    victim = len(servers) // 2
    try:
        endpoints = [{"base_url": s.base_url, "max_concurrency": args.concurrency} for s in servers]
        options: dict[str, Any] = {"pool": "bench", "endpoints": endpoints}
        if peer:
            options = {"base_url": servers[0].base_url}
        config = AnnotatorConfig(
            name="bench-pool",
            step="evaluator",
            provider="openai",
            model="gpt-4o-mini",
            provider_options=options,
            max_concurrency=round(rates[0] * latencies[0]) if peer else None,
        )
        kill_at: list[float] = []
        with tempfile.TemporaryDirectory() as cache_dir:
            settings = EngineSettings(cache_dir=cache_dir, progress="quiet", backoff_base_s=0.2)
            engine = Engine(settings)
            started = time.perf_counter()

            def killer() -> None:
                process = servers[victim].process
                assert process is not None
                process.kill()
                kill_at.append(time.perf_counter() - started)

            timer = threading.Timer(args.kill_after, killer) if kill else None
            if timer is not None:
                timer.start()
            cpu_before = time.process_time()
            results = engine.run(_calls(config, args.calls, "killed" if kill else "alive"))
            wall = time.perf_counter() - started
            cpu = time.process_time() - cpu_before
            if timer is not None:
                timer.cancel()
        ideal = ideal_seconds(rates, args.calls, victim if kill else None, kill_at[0] if kill_at else None)
        served: list[Any] = [
            "killed" if kill and i == victim else s.stats()["statuses"].get("200", 0)
            for i, s in enumerate(servers)
        ]
        return {
            "ok": sum(r.ok for r in results),
            "wall_s": wall,
            "ideal_s": ideal,
            "served": served,
            "cpu_ms_per_call": cpu / args.calls * 1000,
            "kill_at": kill_at[0] if kill_at else None,
        }
    finally:
        for server in servers:
            server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16, help="slots per replica")
    parser.add_argument("--latencies", default="0.2,0.3,0.5", help="seconds per answer, one per replica")
    parser.add_argument("--kill-after", type=float, default=4.0, help="seconds before the kill")
    args = parser.parse_args()
    latencies = [float(x) for x in args.latencies.split(",")]
    rates = [args.concurrency / lat for lat in latencies]
    print(
        f"{args.calls} calls, {len(latencies)} replicas x {args.concurrency} slots, latencies {latencies} s: "
        f"summed ideal {sum(rates):.0f}/s"
    )
    header = f"{'row':<18} {'ok':>6} {'calls/s':>8} {'/ideal':>7} {'CPU ms/call':>12}  served per replica"
    print(header)
    print("-" * len(header))
    rows = (("one endpoint (peer)", False, True), ("pool, all alive", False, False))
    for label, kill, peer in (*rows, ("pool, one killed", True, False)):
        row = run(args, kill=kill, peer=peer)
        rate = row["ok"] / row["wall_s"]
        note = f" (replica 2 killed at {row['kill_at']:.1f}s)" if row["kill_at"] is not None else ""
        print(
            f"{label:<18} {row['ok']:>6} {rate:>8.1f} {row['ideal_s'] / row['wall_s']:>7.3f} "
            f"{row['cpu_ms_per_call']:>12.3f}  {row['served']}{note}"
        )


if __name__ == "__main__":
    main()
