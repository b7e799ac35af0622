"""The Studio's JSON API through a real aiohttp server; LLM calls go to the local test server."""

from __future__ import annotations

import copy
import json
import re
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from click.testing import CliRunner

from rubric_eval.cli import cli
from rubric_eval.testing import OpenAICompatibleServer

from .conftest import llm_rubric_records, read, write

Client = TestClient[Any, Any]


async def ok(response: Any) -> Any:
    body = await response.json()
    assert response.status == 200, body
    return body


async def test_every_api_call_and_the_page_need_the_token_but_static_assets_do_not(client: Client) -> None:
    bare = {"X-Studio-Token": ""}
    for path in ("/api/meta", "/api/records", "/api/records/0", "/"):
        response = await client.get(path, headers=bare)
        assert response.status == 403, path
        assert "access token" in (await response.json())["error"]
    response = await client.get("/api/meta", headers={"X-Studio-Token": "wrong-token"})
    assert response.status == 403
    response = await client.post("/api/save", data=json.dumps({"reviewer": "x", "edits": []}), headers=bare)
    assert response.status == 403
    page = await client.get("/?token=test-token", headers=bare)
    assert page.status == 200 and "<title>Rubric Studio</title>" in await page.text()
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert page.headers["Referrer-Policy"] == "no-referrer"
    script = await client.get("/static/app.js", headers=bare)
    assert script.status == 200 and script.content_type == "text/javascript"
    assert "innerHTML" not in await script.text()  # record text is only ever set as text
    assert (await client.get("/static/_store.py", headers=bare)).status == 404
    # Every resource the page asks for is served without the token. The page declares its icon: without
    # one the browser asks for /favicon.ico, which answered 403 (a console error on every load).
    assert 'rel="icon"' in await page.text()
    for asset in re.findall(r'(?:href|src)="(/[^"]+)"', await page.text()):
        served = await client.get(asset, headers=bare)
        assert served.status == 200, asset


async def test_a_post_must_be_json(client: Client) -> None:
    response = await client.post("/api/save", data="reviewer=x", headers={"Content-Type": "text/plain"})
    assert response.status == 415


async def test_meta_list_and_record(client: Client, rubric_file: Path) -> None:
    meta = await ok(await client.get("/api/meta"))
    assert meta["n_records"] == 3 and meta["levels"] == ["excellent", "good", "fair", "poor"]
    assert meta["rubric_generator"] == meta["evaluator"] == "openai/test-llm"
    listing = await ok(await client.get("/api/records"))
    assert [(r["id"], r["category"], r["status"]) for r in listing["records"]] == [
        ("r0", "Math", "draft"),
        ("r1", "Math", "draft"),
        ("r2", "Coding", "draft"),
    ]
    assert listing["records"][0]["sources"] == {"brainstormed_rubric": "llm", "rubric": "llm"}
    record = await ok(await client.get("/api/records/1"))
    raw = read(rubric_file)[1]
    assert record["display"]["instruction"] == "Instruction 1"
    assert record["display"]["useful_info_to_eval_instruction"] == "notes 1"
    assert record["values"]["rubric"] == raw["rubric"]
    assert record["drafts"]["rubric"]["llm_draft"] == raw["rubric"]
    assert record["key"] == "id:r1"
    assert (await client.get("/api/records/9")).status == 404


async def test_check_validates_and_diffs_unsaved_values(client: Client, rubric_file: Path) -> None:
    value = copy.deepcopy(read(rubric_file)[0]["rubric"])
    value[0]["performance_to_description"]["fair"] = "new"
    value[1]["weight"] = 70
    body = await ok(await client.post("/api/check", json={"index": 0, "field": "rubric", "value": value}))
    assert body["ok"] and body["warnings"] == ["weights sum to 120, not 100"]
    (change_0, change_1) = body["diff"]["changes"]
    assert change_0["cells"] == {"fair": ["Correctness at fair", "new"]}
    assert (change_1["old_weight"], change_1["new_weight"]) == (50, 70)
    for row in value:
        row["performance_to_description"] = {"best": "a", "worst": "b"}
    body = await ok(await client.post("/api/check", json={"index": 0, "field": "rubric", "value": value}))
    assert "differ from the file's ['excellent', 'good', 'fair', 'poor']" in body["warnings"][0]
    value[0]["criterion"] = "   "
    body = await ok(await client.post("/api/check", json={"index": 0, "field": "rubric", "value": value}))
    assert body == {"ok": False, "problem": "0.criterion: criterion name must not be empty"}


async def test_save_then_a_stale_save_is_a_conflict(client: Client, rubric_file: Path) -> None:
    record = await ok(await client.get("/api/records/0"))
    mine = copy.deepcopy(record["values"]["rubric"])
    mine[0]["performance_to_description"]["good"] = "first"
    edit = {
        "index": 0,
        "key": record["key"],
        "fields": [{"field": "rubric", "base": record["base"]["rubric"], "value": mine}],
    }
    saved = await ok(await client.post("/api/save", json={"reviewer": "Dr Ada", "edits": [edit]}))
    assert saved["saved"] == [0] and saved["records"]["0"]["drafts"]["rubric"]["source"] == "llm+expert"
    assert saved["records"]["0"]["drafts"]["rubric"]["history"][0]["by"] == "Dr Ada"
    mine[0]["performance_to_description"]["good"] = "second"
    stale = await ok(await client.post("/api/save", json={"reviewer": "Dr Bob", "edits": [edit]}))
    assert stale["saved"] == [] and stale["conflicts"][0]["field"] == "rubric"
    assert read(rubric_file)[0]["rubric"][0]["performance_to_description"]["good"] == "first"
    response = await client.post("/api/save", json={"reviewer": "", "edits": [edit]})
    assert response.status == 400 and "reviewer" in (await response.json())["error"]


async def test_suggestions_come_from_the_rubric_generator_through_the_engine(
    client: Client, rubric_file: Path, openai_env: OpenAICompatibleServer
) -> None:
    value = read(rubric_file)[1]["rubric"]
    body = {"index": 1, "value": value, "criterion": "Depth", "level": None, "guidance": "be strict"}
    row = await ok(await client.post("/api/suggest", json=body))
    assert row["config"] == "openai/test-llm" and not row["cached"]
    assert row["row"]["criterion"] == "Depth" and row["row"]["weight"] == value[1]["weight"]
    assert list(row["row"]["performance_to_description"]) == ["excellent", "good", "fair", "poor"]
    (prompt,) = [m["content"] for b in openai_env.requests for m in b["messages"] if m["role"] == "user"]
    assert "The reviewer asks, about criterion 'Depth': be strict" in prompt
    assert '"criterion": "Style"' in prompt  # the generator sees every current criterion
    again = await ok(await client.post("/api/suggest", json=body))
    assert again["cached"] and again["row"] == row["row"]  # the same cache as the CLI
    cell = await ok(await client.post("/api/suggest", json={**body, "level": "fair", "attempt": 1}))
    assert cell["row"] is None and isinstance(cell["text"], str) and cell["text"]
    missing = await client.post("/api/suggest", json={**body, "criterion": "Nope"})
    assert missing.status == 422 and "no criterion 'Nope'" in (await missing.json())["error"]


async def test_a_failed_llm_call_is_reported_not_invented(
    client: Client, rubric_file: Path, openai_env: OpenAICompatibleServer
) -> None:
    openai_env.add_faults("401")
    body = {"index": 0, "value": read(rubric_file)[0]["rubric"], "criterion": "Clarity"}
    response = await client.post("/api/suggest", json=body)
    assert response.status == 422
    assert "the rubric generator (openai/test-llm) failed" in (await response.json())["error"]


async def test_pilot_grades_answers_against_the_unsaved_rubric(
    client: Client, rubric_file: Path, openai_env: OpenAICompatibleServer
) -> None:
    value = read(rubric_file)[2]["rubric"]
    value.append(
        {
            "criterion": "Speed",
            "weight": 10,
            "performance_to_description": value[0]["performance_to_description"],
        }
    )
    body = await ok(
        await client.post("/api/pilot", json={"index": 2, "rubric": value, "answers": ["one", "two"]})
    )
    assert body["evaluator"] == "openai/test-llm"
    assert [r["answer_index"] for r in body["results"]] == [0, 1]
    for result in body["results"]:
        assert [g["criterion"] for g in result["grades"]] == ["Code", "Tests", "Speed"]
        assert all(
            g["status"] == "scored" and g["level"] in value[0]["performance_to_description"]
            for g in result["grades"]
        )
        assert 1 <= result["score"] <= 10
    judged = [
        b
        for b in openai_env.requests
        if (b.get("response_format") or {}).get("json_schema", {}).get("name") == "RubricGrading"
    ]
    assert len(judged) == 2 and "Speed" in json.dumps(judged[0]["messages"])
    assert read(rubric_file)[2]["rubric"] == llm_rubric_records()[2]["rubric"]  # grading saves nothing
    empty = await client.post("/api/pilot", json={"index": 2, "rubric": value, "answers": []})
    assert empty.status == 400


async def test_drafting_the_rubric_needs_an_approved_brainstorm(client: Client, rubric_file: Path) -> None:
    records = read(rubric_file)
    del records[0]["rubric"], records[0]["rubric_provenance"]
    write(rubric_file, records)
    response = await client.post("/api/draft_rubric", json={"index": 0, "key": "id:r0"})
    assert response.status == 422 and "approve" in (await response.json())["error"]
    records[0]["review"] = {"status": "approved", "reviewer": "Dr Ada"}
    write(rubric_file, records)
    draft = await ok(await client.post("/api/draft_rubric", json={"index": 0, "key": "id:r0"}))
    assert [r["criterion"] for r in draft["rubric"]] == ["Correctness", "Clarity"]
    record = await ok(await client.get("/api/records/0"))
    edit = {
        "index": 0,
        "key": "id:r0",
        "fields": [
            {"field": "rubric", "base": None, "value": draft["rubric"], "draft_id": draft["draft_id"]}
        ],
    }
    saved = await ok(await client.post("/api/save", json={"reviewer": "Dr Ada", "edits": [edit]}))
    assert saved["saved"] == [0] and record["base"]["rubric"] is None
    after = read(rubric_file)[0]
    assert after["rubric_provenance"]["source"] == "llm"
    assert after["rubric_provenance"]["llm_draft"] == draft["rubric"]
    assert after["rubric_generator"] == "openai/test-llm"


@pytest.mark.slow  # a subprocess: about 2 s of interpreter start-up on a shared machine
def test_the_command_serves_on_loopback_with_a_token_and_refuses_without(
    rubric_file: Path, openai_env: OpenAICompatibleServer
) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "rubric_eval", "studio", "--input_path", str(rubric_file), "--no_browser"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith(f"Rubric Studio for {rubric_file}: http://127.0.0.1:")
        url = line.split(": ", 1)[1].strip()
        base, token = url.split("/?token=")
        assert len(token) >= 32
        with urllib.request.urlopen(url) as page:
            assert b"Rubric Studio" in page.read()
        request = urllib.request.Request(base + "/api/meta", headers={"X-Studio-Token": token})
        with urllib.request.urlopen(request) as response:
            assert json.load(response)["n_records"] == 3
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(base + "/api/meta")
        assert refused.value.code == 403
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_the_command_rejects_a_missing_file_clearly(tmp_path: Path) -> None:
    missing = tmp_path / "nope.json"
    result = CliRunner().invoke(cli, ["studio", "--input_path", str(missing), "--no_browser"])
    assert result.exit_code == 2
    assert f"Error: {missing}: file not found" in result.output


def test_the_command_rejects_bad_levels_before_serving(rubric_file: Path) -> None:
    result = CliRunner().invoke(cli, ["studio", "--input_path", str(rubric_file), "--levels", "good"])
    assert result.exit_code == 2
    assert "at least 2 performance levels are needed" in result.output


async def test_a_rubric_drafted_from_an_older_brainstorm_is_flagged(client: Client) -> None:
    record = await ok(await client.get("/api/records/0"))
    assert record["stale_rubric"] is False
    brainstorm = copy.deepcopy(record["values"]["brainstormed_rubric"])
    brainstorm[0]["checklist"].append("states the units")
    edit = {
        "field": "brainstormed_rubric",
        "base": record["base"]["brainstormed_rubric"],
        "value": brainstorm,
    }
    body = {"reviewer": "Dr Ada", "edits": [{"index": 0, "key": "id:r0", "fields": [edit]}]}
    saved = await ok(await client.post("/api/save", json=body))
    assert saved["records"]["0"]["stale_rubric"] is True
    assert saved["records"]["0"]["drafts"]["brainstormed_rubric"]["source"] == "llm+expert"


async def test_a_checklist_suggestion_comes_from_the_brainstormer(
    client: Client, rubric_file: Path, openai_env: OpenAICompatibleServer
) -> None:
    value = read(rubric_file)[1]["brainstormed_rubric"]
    body = {
        "index": 1,
        "field": "brainstormed_rubric",
        "value": value,
        "criterion": "Depth",
        "guidance": "name the proof",
    }
    suggestion = await ok(await client.post("/api/suggest", json=body))
    assert suggestion["row"]["criterion"] == "Depth" and suggestion["row"]["weight"] == value[1]["weight"]
    assert suggestion["row"]["checklist"] and all(
        isinstance(item, str) for item in suggestion["row"]["checklist"]
    )
    (request,) = openai_env.requests
    assert request["response_format"]["json_schema"]["name"] == "BrainstormAnswer"
    prompt = "\n".join(m["content"] for m in request["messages"])
    assert "revising the criterion 'Depth'" in prompt and "The reviewer asks: name the proof" in prompt


def test_the_printed_url_names_a_reachable_host_and_carries_the_token() -> None:
    import socket

    from rubric_eval.studio import studio_url

    assert studio_url("127.0.0.1", 8123, "tok") == "http://127.0.0.1:8123/?token=tok"
    assert studio_url("::1", 8123, "tok") == "http://[::1]:8123/?token=tok"
    assert studio_url("0.0.0.0", 8123, "tok") == f"http://{socket.getfqdn()}:8123/?token=tok"
