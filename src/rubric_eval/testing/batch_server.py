"""``python -m rubric_eval.testing.batch_server --port 0 --items-per-s 200 ...``: the batch test server.

The OpenAI-compatible test server plus the OpenAI Batch and Anthropic Message Batches endpoints
(see `rubric_eval.testing.BatchServer`). Prints ``listening on http://127.0.0.1:PORT/v1`` first.
"""

from __future__ import annotations

import argparse

from rubric_eval.testing._batch_server import BatchServer
from rubric_eval.testing.openai_server import serve_forever


def main(argv: list[str] | None = None) -> None:
    """Run the batch server in the foreground until killed."""
    parser = argparse.ArgumentParser(description="Batch-API test server on 127.0.0.1")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds before each live answer")
    parser.add_argument("--items-per-s", type=float, default=1000.0, help="batch items processed per second")
    parser.add_argument("--validating", type=float, default=0.0, help="seconds a new batch validates")
    parser.add_argument("--finalizing", type=float, default=0.0, help="seconds a processed batch finalizes")
    parser.add_argument(
        "--expire-after", type=float, default=None, help="seconds until unprocessed items expire"
    )
    parser.add_argument(
        "--item-error-rate", type=float, default=0.0, help="share of items that fail (HTTP 500)"
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    server = BatchServer(
        latency_s=args.latency,
        items_per_s=args.items_per_s,
        validating_s=args.validating,
        finalizing_s=args.finalizing,
        expire_after_s=args.expire_after,
        item_error_rate=args.item_error_rate,
        seed=args.seed,
        host=args.host,
        port=args.port,
    )

    serve_forever(server)


if __name__ == "__main__":
    main()
