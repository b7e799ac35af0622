"""Hostile reply modes of the test server: what misbehaving servers, gateways and models send.

Each mode builds one reply to a chat completion from the request body and the reply a healthy
server would give (``good``: the content it would answer). Used as ``Fault(kind)`` like the basic
kinds in ``_server.py``; `REPLY_MODES` maps each name to (what it imitates, builder).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web


@dataclass(frozen=True)
class Context:
    body: dict[str, Any]
    good: str  # the content a healthy server would answer
    answer: Callable[..., dict[str, Any]]  # (content, finish_reason=..., usage=...) -> completion JSON


Builder = Callable[[Context], web.Response]


def _json(payload: Any, status: int = 200, **headers: str) -> web.Response:
    return web.Response(
        status=status, text=json.dumps(payload), content_type="application/json", headers=headers or None
    )


def _raw(
    data: bytes | str,
    status: int = 200,
    content_type: str = "application/json",
    headers: dict[str, str] | None = None,
) -> web.Response:
    body = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    return web.Response(status=status, body=body, content_type=content_type, headers=headers)


def _error(status: int, message: str, **headers: str) -> web.Response:
    return _json(
        {"error": {"message": message, "type": "error", "param": None, "code": None}}, status, **headers
    )


def _with_message(ctx: Context, **message: Any) -> web.Response:
    data = ctx.answer(ctx.good)
    data["choices"][0]["message"] = message
    return _json(data)


def _sent_format(ctx: Context) -> str | None:
    fmt = ctx.body.get("response_format")
    return str(fmt.get("type")) if isinstance(fmt, dict) else None


def _format_rejection(status: int, message: str) -> Builder:
    def build(ctx: Context) -> web.Response:
        if _sent_format(ctx) == "json_schema":
            return _error(status, message)
        return _json(ctx.answer(ctx.good))

    return build


def _deep(depth: int) -> str:
    return "[" * depth + "]" * depth


REPLY_MODES: dict[str, tuple[str, Builder]] = {
    "html_502": (
        "a proxy's HTML error page",
        lambda ctx: _raw("<html><body><h1>502 Bad Gateway</h1></body></html>", 502, "text/html"),
    ),
    "empty_body": ("a 200 with no body", lambda ctx: _raw(b"")),
    "null_body": ("a 200 whose JSON is null", lambda ctx: _raw(b"null")),
    "empty_choices": ("no choices", lambda ctx: _json({**ctx.answer(ctx.good), "choices": []})),
    "choices_not_list": (
        "choices as an object",
        lambda ctx: _json({**ctx.answer(ctx.good), "choices": {"0": ctx.answer(ctx.good)["choices"][0]}}),
    ),
    "message_not_object": ("message as a string", lambda ctx: _with_message_raw(ctx, "hello")),
    "null_content": ("content null", lambda ctx: _with_message(ctx, role="assistant", content=None)),
    "content_parts": (
        "content as a list of text parts (valid)",
        lambda ctx: _with_message(ctx, role="assistant", content=[{"type": "text", "text": ctx.good}]),
    ),
    "content_number": ("content as a number", lambda ctx: _with_message(ctx, role="assistant", content=42)),
    "refusal": (
        "the model refuses",
        lambda ctx: _with_message(ctx, role="assistant", content=None, refusal="I can't help with that."),
    ),
    "usage_garbage": (
        "usage counts as strings, negatives and nulls",
        lambda ctx: _json(
            {**ctx.answer(ctx.good), "usage": {"prompt_tokens": "many", "completion_tokens": -5}}
        ),
    ),
    "usage_not_object": ("usage as a list", lambda ctx: _json({**ctx.answer(ctx.good), "usage": [1, 2]})),
    "nested_content": ("content nested 100,000 deep", lambda ctx: _json(ctx.answer(_deep(100_000)))),
    "nested_body": ("the HTTP body nested 100,000 deep", lambda ctx: _raw(_deep(100_000))),
    "length_cutoff": (
        "cut off at the token limit mid-JSON",
        lambda ctx: _json(ctx.answer(ctx.good[: max(1, len(ctx.good) // 2)], finish_reason="length")),
    ),
    "nan_in_answer": (
        "NaN in the answer's JSON",
        lambda ctx: _json(ctx.answer('{"level": NaN, "score": NaN}')),
    ),
    "wrong_types": (
        "answer fields of the wrong types",
        lambda ctx: _json(ctx.answer('{"level": 5, "score": "x"}')),
    ),
    "array_answer": ("a JSON array instead of an object", lambda ctx: _json(ctx.answer("[1, 2, 3]"))),
    "prose_around_json": (
        "the JSON inside prose and a code fence (valid)",
        lambda ctx: _json(ctx.answer(f"Sure! Here it is:\n```json\n{ctx.good}\n```\nHope this helps.")),
    ),
    "duplicate_keys": (
        "duplicate keys in the answer (valid: the last wins)",
        lambda ctx: _json(
            ctx.answer(ctx.good[:-1] + ', "_dup": 1, "_dup": 2}' if ctx.good.endswith("}") else ctx.good)
        ),
    ),
    "lone_surrogate": (
        "a lone surrogate escaped in the content",
        lambda ctx: _raw(json.dumps(ctx.answer("\ud800 " + ctx.good))),
    ),
    "invalid_utf8": ("bytes that are not UTF-8", lambda ctx: _raw(b'{"choices": [\xff\xfe]}')),
    "bom_json": (
        "a UTF-8 byte order mark before the JSON (valid)",
        lambda ctx: _raw(b"\xef\xbb\xbf" + json.dumps(ctx.answer(ctx.good)).encode()),
    ),
    "wrong_content_type": (
        "JSON sent as text/plain (valid)",
        lambda ctx: _raw(json.dumps(ctx.answer(ctx.good)), content_type="text/plain"),
    ),
    "sse_stream": (
        "a server-sent event stream that was not asked for",
        lambda ctx: _raw(
            f"data: {json.dumps(ctx.answer(ctx.good))}\n\ndata: [DONE]\n\n", content_type="text/event-stream"
        ),
    ),
    "error_in_200": (
        "a 200 whose body is an error object",
        lambda ctx: _error(200, "The server is overloaded."),
    ),
    "gzip_garbage": (
        "Content-Encoding gzip on a body that is not gzip",
        lambda ctx: _raw(json.dumps(ctx.answer(ctx.good)), headers={"Content-Encoding": "gzip"}),
    ),
    "huge_content": ("2 MB of prose", lambda ctx: _json(ctx.answer("word " * 400_000))),
    "retry_after_garbage": (
        "a 429 whose Retry-After is 'soon'",
        lambda ctx: _error(429, "Rate limit reached.", **{"Retry-After": "soon"}),
    ),
    "retry_after_past_date": (
        "a 429 whose Retry-After is a date in the past",
        lambda ctx: _error(429, "Rate limit reached.", **{"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}),
    ),
    "retry_after_negative": (
        "a 429 with negative and non-finite Retry-After values",
        lambda ctx: _error(429, "Rate limit reached.", **{"Retry-After": "-5", "retry-after-ms": "nan"}),
    ),
    "status_404": ("model not found (not retryable)", lambda ctx: _error(404, "The model does not exist.")),
    "status_413": ("request too large (not retryable)", lambda ctx: _error(413, "Request entity too large.")),
    "status_502_json": (
        "a gateway error with a JSON body",
        lambda ctx: _error(502, "upstream connect error"),
    ),
    "reject_format_500": (
        "llama-cpp-python: json_schema answered with HTTP 500",
        _format_rejection(
            500,
            "1 validation error: ('body', 'response_format', 'type'): "
            "Input should be 'text' or 'json_object'",
        ),
    ),
    "reject_format_422": (
        "a 422 validation error naming response_format.type",
        _format_rejection(422, "response_format.type: value is not a valid enumeration member"),
    ),
}


def _with_message_raw(ctx: Context, message: Any) -> web.Response:
    data = ctx.answer(ctx.good)
    data["choices"][0]["message"] = message
    return _json(data)
