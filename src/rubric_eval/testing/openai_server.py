"""``python -m rubric_eval.testing.openai_server --port 0 --latency 0.2 ...``: the test server, foreground.

Prints ``listening on http://127.0.0.1:PORT/v1`` as its first stdout line.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from rubric_eval.testing._server import OpenAICompatibleServer


def serve_forever(server: OpenAICompatibleServer) -> None:
    """Serve in the foreground, announcing the base URL on stdout's first line, until killed."""

    async def serve() -> None:
        await server.astart()
        print(f"listening on {server.base_url}", flush=True)
        try:
            await asyncio.Event().wait()
        finally:
            await server.astop()

    try:
        asyncio.run(serve())
    except KeyboardInterrupt:
        sys.exit(0)


def main(argv: list[str] | None = None) -> None:
    """Run the server in the foreground until killed (``python -m rubric_eval.testing.openai_server``)."""
    parser = argparse.ArgumentParser(description="OpenAI-compatible test server on 127.0.0.1")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds before each answer")
    parser.add_argument("--rate-limit", type=float, default=None, help="requests/s before answering 429")
    parser.add_argument("--faults", default="", help="comma-separated fault kinds for the first requests")
    parser.add_argument(
        "--fault-rate", action="append", default=[], metavar="KIND=P", help="random fault injection"
    )
    parser.add_argument("--retry-after", type=float, default=0.0, help="Retry-After of injected 429s")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--api-key", default=None)
    parser.add_argument("--log-file", default=None, help="append one JSON line per request")
    parser.add_argument(
        "--forget-bodies", action="store_true", help="keep only request counts in memory (long benchmarks)"
    )
    args = parser.parse_args(argv)
    rates = {kind: float(p) for kind, _, p in (item.partition("=") for item in args.fault_rate)}
    server = OpenAICompatibleServer(
        latency_s=args.latency,
        rate_limit_per_s=args.rate_limit,
        faults=[f for f in args.faults.split(",") if f],
        fault_rates=rates,
        retry_after_s=args.retry_after,
        seed=args.seed,
        api_key=args.api_key,
        host=args.host,
        port=args.port,
        log_path=args.log_file,
        keep_bodies=not args.forget_bodies,
    )

    serve_forever(server)


if __name__ == "__main__":
    main()
