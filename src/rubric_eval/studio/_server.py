"""The Studio's web server: static files shipped in the package and a small JSON API (aiohttp).

Every request except the static assets needs the random access token (``?token=`` on the page, the
``X-Studio-Token`` header on API calls), so neither another local user nor a web page the expert visits
can read or change the file. Responses carry a strict Content-Security-Policy: the page runs only its own
script, and every piece of record text is inserted as text, never as markup.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import secrets
from collections.abc import Awaitable, Callable
from importlib import resources
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from rubric_eval import BrainstormedRubric, Record, Rubric
from rubric_eval.diff import diff_field
from rubric_eval.errors import RubricEvalError
from rubric_eval.provenance import (
    TRACKED_FIELDS,
    FieldProvenance,
    current_source,
    fingerprint,
    provenance_field,
)
from rubric_eval.studio._assist import Assistant, AssistError, PilotRequest, SuggestRequest
from rubric_eval.studio._store import (
    EDITABLE_FIELDS,
    STATUSES,
    RecordStore,
    SaveRequest,
    Snapshot,
    canonical_field,
    file_levels,
    record_key,
    review_of,
    summaries,
    value_fingerprint,
)

TOKEN_HEADER = "X-Studio-Token"
STATIC_FILES = {"app.js": "text/javascript", "app.css": "text/css", "favicon.svg": "image/svg+xml"}
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
STATE: web.AppKey[StudioState] = web.AppKey("studio_state")
DISPLAY_FIELDS = ("id", "category", "instruction", "useful_info_to_eval_instruction", "output", "model")


class CheckRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    index: int = Field(ge=0)
    field: str
    value: Any
    draft_id: str | None = Field(default=None, description="Diff against this unsaved LLM draft instead.")


class DraftRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    index: int = Field(ge=0)
    key: str


class StudioState:
    """What the server works with: the file, the LLM assistant, the token and the expected levels."""

    def __init__(
        self,
        store: RecordStore,
        assistant: Assistant,
        *,
        levels: list[str] | None = None,
        token: str | None = None,
    ) -> None:
        self.store = store
        self.assistant = assistant
        self.levels = levels
        self.token = token or secrets.token_urlsafe(24)
        self._levels_for: tuple[str, list[str] | None] = ("", None)

    def expected_levels(self, snap: Snapshot) -> list[str] | None:
        if self.levels is not None:
            return self.levels
        if self._levels_for[0] != snap.etag:  # polled every few seconds: computed once per file version
            self._levels_for = (snap.etag, file_levels(snap))
        return self._levels_for[1]


def _static(name: str) -> bytes:
    return (resources.files("rubric_eval.studio") / "static" / name).read_bytes()


@web.middleware
async def _guard(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    state = request.app[STATE]
    if not request.path.startswith("/static/"):
        given = request.headers.get(TOKEN_HEADER) or request.query.get("token") or ""
        if not hmac.compare_digest(given.encode(), state.token.encode()):
            return web.json_response(
                {"error": "missing or wrong access token (use the URL the command printed)"}, status=403
            )
        if request.method == "POST" and request.content_type != "application/json":
            return web.json_response({"error": "expected a JSON body"}, status=415)
    try:
        response = await handler(request)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        response = web.json_response({"error": f"{where}: {first['msg']}"}, status=400)
    except (AssistError, RubricEvalError) as exc:
        response = web.json_response({"error": str(exc)}, status=422)
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    return response


async def _body(request: web.Request) -> Any:
    try:
        return await request.json()
    except json.JSONDecodeError:
        raise web.HTTPBadRequest(text='{"error": "invalid JSON"}', content_type="application/json") from None


def _record_at(snap: Snapshot, index: int) -> dict[str, Any]:
    if not 0 <= index < len(snap.raw):
        raise web.HTTPNotFound(
            text=json.dumps({"error": f"no record {index}"}), content_type="application/json"
        )
    return snap.raw[index]


def record_payload(state: StudioState, snap: Snapshot, index: int) -> dict[str, Any]:
    """One record as the page edits it: display text, editable values, their bases and the LLM drafts."""
    raw = _record_at(snap, index)
    values: dict[str, Any] = {}
    invalid: dict[str, str] = {}
    for field in EDITABLE_FIELDS:
        try:
            values[field] = canonical_field(field, raw.get(field))
        except ValidationError as exc:
            values[field] = raw.get(field)
            invalid[field] = str(exc.errors()[0]["msg"])
    drafts: dict[str, Any] = {}
    for tracked in TRACKED_FIELDS:
        stored = raw.get(provenance_field(tracked))
        try:
            prov = FieldProvenance.model_validate(stored) if isinstance(stored, dict) else None
        except ValidationError:
            prov = None
        extra = (prov.model_extra or {}) if prov else {}
        drafts[tracked] = {
            "llm_draft": prov.llm_draft if prov else None,
            "config": prov.config if prov else None,
            "date": prov.date if prov else None,
            "source": current_source(raw.get(tracked), prov),
            "history": extra.get("history", []),
        }
    return {
        "index": index,
        "key": record_key(raw),
        "stale_rubric": _stale_rubric(raw),
        "display": {name: None if raw.get(name) is None else str(raw[name]) for name in DISPLAY_FIELDS},
        "values": values,
        "invalid": invalid,
        "base": {field: value_fingerprint(raw.get(field)) for field in EDITABLE_FIELDS},
        "drafts": drafts,
        "etag": snap.etag,
    }


def _stale_rubric(raw: dict[str, Any]) -> bool:
    """True when the rubric is still the LLM's, drafted from another brainstorm than the current one."""
    stored = raw.get(provenance_field("rubric"))
    if not isinstance(stored, dict) or raw.get("brainstormed_rubric") is None or raw.get("rubric") is None:
        return False
    try:
        prov = FieldProvenance.model_validate(stored)
        brainstorm = BrainstormedRubric.model_validate(raw["brainstormed_rubric"])
    except ValidationError:
        return False
    return (
        current_source(raw["rubric"], prov) == "llm"
        and prov.input_fingerprint is not None
        and fingerprint(brainstorm) != prov.input_fingerprint
    )


async def index_page(request: web.Request) -> web.Response:
    return web.Response(body=_static("index.html"), content_type="text/html", charset="utf-8")


async def static_file(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    if name not in STATIC_FILES:
        raise web.HTTPNotFound()
    return web.Response(body=_static(name), content_type=STATIC_FILES[name], charset="utf-8")


async def meta(request: web.Request) -> web.Response:
    state = request.app[STATE]
    snap = state.store.snapshot()
    return web.json_response(
        {
            "path": str(state.store.path),
            "n_records": len(snap.raw),
            "levels": state.expected_levels(snap),
            "statuses": list(STATUSES),
            "brainstormer": state.assistant.brainstormer.name,
            "rubric_generator": state.assistant.rubric_generator.name,
            "evaluator": state.assistant.evaluator.name,
            "etag": snap.etag,
        }
    )


async def list_records(request: web.Request) -> web.Response:
    snap = request.app[STATE].store.snapshot()
    return web.json_response(
        {"etag": snap.etag, "records": [s.model_dump(mode="json") for s in summaries(snap)]}
    )


async def get_record(request: web.Request) -> web.Response:
    state = request.app[STATE]
    try:
        index = int(request.match_info["index"])
    except ValueError:
        raise web.HTTPNotFound() from None
    return web.json_response(record_payload(state, state.store.snapshot(), index))


async def check(request: web.Request) -> web.Response:
    """Validate an unsaved brainstorm or rubric and diff it against the field's LLM draft."""
    state = request.app[STATE]
    req = CheckRequest.model_validate(await _body(request))
    if req.field not in TRACKED_FIELDS:
        raise web.HTTPBadRequest(text='{"error": "field must be brainstormed_rubric or rubric"}')
    snap = state.store.snapshot()
    raw = _record_at(snap, req.index)
    model = Rubric if req.field == "rubric" else BrainstormedRubric
    try:
        value = model.model_validate(req.value)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        message = str(first["msg"]).removeprefix("Value error, ")
        return web.json_response({"ok": False, "problem": f"{where}: {message}" if where else message})
    warnings = []
    if isinstance(value, Rubric):
        expected = state.expected_levels(snap)
        if expected is not None and value.levels != expected:
            warnings.append(f"level names {value.levels} differ from the file's {expected} (best first)")
        if abs(value.total_weight - 100) > 0.5:
            warnings.append(f"weights sum to {round(value.total_weight, 2):g}, not 100")
    else:
        total = sum(row.weight for row in value.root)
        if abs(total - 100) > 0.5:
            warnings.append(f"weights sum to {round(total, 2):g}, not 100")
    stored = raw.get(provenance_field(req.field))
    pending = state.assistant.drafts.get(req.draft_id) if req.draft_id else None
    try:
        if pending is not None:
            draft = pending.value
        else:
            draft = FieldProvenance.model_validate(stored).llm_draft if isinstance(stored, dict) else None
        diff = diff_field(req.field, draft, value).model_dump(mode="json")
    except ValidationError:
        diff = None
    return web.json_response({"ok": True, "warnings": warnings, "diff": diff})


async def save(request: web.Request) -> web.Response:
    state = request.app[STATE]
    req = SaveRequest.model_validate(await _body(request))
    result = await asyncio.to_thread(state.store.save, req, state.assistant.drafts)
    snap = state.store.snapshot()
    payload = result.model_dump(mode="json")
    payload["records"] = {str(i): record_payload(state, snap, i) for i in result.saved}
    return web.json_response(payload)


def _record_model(snap: Snapshot, index: int) -> Record:
    raw = _record_at(snap, index)
    return Record.model_validate(raw)


async def suggest(request: web.Request) -> web.Response:
    state = request.app[STATE]
    req = SuggestRequest.model_validate(await _body(request))
    record = _record_model(state.store.snapshot(), req.index)
    suggestion = await state.assistant.suggest(record, req)
    return web.json_response(suggestion.model_dump(mode="json"))


async def draft_rubric(request: web.Request) -> web.Response:
    state = request.app[STATE]
    req = DraftRequest.model_validate(await _body(request))
    snap = state.store.snapshot()
    raw = _record_at(snap, req.index)
    if record_key(raw) != req.key:
        raise AssistError("the file changed: reload this instruction first")
    if review_of(raw).status != "approved":
        raise AssistError("approve (and save) the brainstorm before drafting the rubric from it")
    levels = tuple(state.expected_levels(snap) or ("excellent", "good", "fair", "poor"))
    _, payload = await state.assistant.draft_rubric(Record.model_validate(raw), levels)
    return web.json_response(payload)


async def pilot(request: web.Request) -> web.Response:
    state = request.app[STATE]
    req = PilotRequest.model_validate(await _body(request))
    record = _record_model(state.store.snapshot(), req.index)
    results = await state.assistant.pilot(record, req)
    return web.json_response(
        {"evaluator": state.assistant.evaluator.name, "results": [r.model_dump(mode="json") for r in results]}
    )


def create_app(state: StudioState) -> web.Application:
    """The Studio's aiohttp application for one record file."""
    app = web.Application(middlewares=[_guard], client_max_size=64 * 1024 * 1024)
    app[STATE] = state
    app.router.add_get("/", index_page)
    app.router.add_get("/static/{name}", static_file)
    app.router.add_get("/api/meta", meta)
    app.router.add_get("/api/records", list_records)
    app.router.add_get("/api/records/{index}", get_record)
    app.router.add_post("/api/check", check)
    app.router.add_post("/api/save", save)
    app.router.add_post("/api/suggest", suggest)
    app.router.add_post("/api/draft_rubric", draft_rubric)
    app.router.add_post("/api/pilot", pilot)
    return app
