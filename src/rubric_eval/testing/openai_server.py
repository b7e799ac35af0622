"""``python -m rubric_eval.testing.openai_server --port 0 --latency 0.2 ...``: the test server, foreground."""

from rubric_eval.testing._server import main

if __name__ == "__main__":
    main()
