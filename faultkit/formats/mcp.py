"""MCP over streamable HTTP: find the ``tools/call`` result and the JSON documents inside it.

A server answers a request either with one JSON-RPC message as ``application/json`` or with an
SSE stream whose events carry JSON-RPC messages (progress notifications, then the response).
A tool result carries its data as ``structuredContent`` (an object) and/or as ``content``
blocks, where a ``text`` block often holds the same JSON serialized, for older clients. Faults
that change tool data change every copy consistently, because a client may read either one.
"""

from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from faultkit.exchange import Response
from faultkit.formats.common import (
    NOT_JSON,
    JsonText,
    parse_json_text,
    read_json_body,
    render_json_text,
    replace_events,
    write_json_body,
)
from faultkit.formats.sse import encode_events, parse_events
from faultkit.plan import Plan


def is_response(message: Any) -> bool:
    """True for a JSON-RPC response (``result`` or ``error`` with an ``id``)."""
    return (
        isinstance(message, dict)
        and message.get("jsonrpc") == "2.0"
        and "id" in message
        and ("result" in message or "error" in message)
    )


def tool_result(message: Any) -> dict[str, Any] | None:
    """The ``result`` object of a JSON-RPC response, or None."""
    if is_response(message) and isinstance(message.get("result"), dict):
        return message["result"]
    return None


# -- where the message is in a plan ---------------------------------------------------------------
@dataclass(frozen=True)
class Located:
    """A JSON value read from a plan and where it came from: the body (``event`` None) or
    the ``event``-th SSE event."""

    value: Any
    event: int | None


def read_message(plan: Plan) -> Located | None:
    """The JSON-RPC response a plan sends: its JSON body, or the last SSE event carrying a
    response (earlier events are notifications). For a body that is JSON but not JSON-RPC the
    body itself is returned (a generic JSON tool)."""
    if plan.is_sse:
        events = plan.events()
        for i in range(len(events) - 1, -1, -1):
            if is_response(events[i].json()):
                return Located(events[i].json(), i)
        return None
    value = read_json_body(plan)
    return None if value is NOT_JSON else Located(value, None)


def write_message(plan: Plan, located: Located, value: Any) -> Plan:
    """``plan`` sending ``value`` where ``located`` was read from."""
    if located.event is None:
        return write_json_body(plan, value)
    events = plan.events()
    events[located.event] = events[located.event].with_json(value)
    return replace_events(plan, events)


# -- documents inside a tool result ---------------------------------------------------------------
@dataclass(frozen=True)
class ResultDocument:
    """One JSON copy of the tool's data: ``structuredContent`` or a JSON ``text`` block."""

    key: tuple[Any, ...]
    where: str
    value: Any
    text: JsonText | None = None


def result_documents(result: dict[str, Any]) -> list[ResultDocument]:
    """``structuredContent`` first (when present), then each ``text`` content block whose text
    is a JSON object or array."""
    docs: list[ResultDocument] = []
    if isinstance(result.get("structuredContent"), dict | list):
        docs.append(
            ResultDocument(("structured",), "result.structuredContent", result["structuredContent"])
        )
    for i, block in enumerate(result.get("content") or []):
        if isinstance(block, dict) and block.get("type") == "text":
            parsed = parse_json_text(block.get("text") or "")
            if parsed is not None:
                docs.append(
                    ResultDocument(("text", i), f"result.content[{i}].text", parsed.value, parsed)
                )
    return docs


def with_document(result: dict[str, Any], doc: ResultDocument, value: Any) -> dict[str, Any]:
    """A copy of ``result`` with document ``doc`` replaced by ``value`` (a text block is
    re-serialized in its original layout)."""
    new = copy.copy(result)
    if doc.key == ("structured",):
        new["structuredContent"] = value
        return new
    _, i = doc.key
    content = list(new["content"])
    block = dict(content[i])
    block["text"] = render_json_text(doc.text, value) if doc.text else block["text"]
    content[i] = block
    new["content"] = content
    return new


def with_result(message: dict[str, Any], result: dict[str, Any]) -> dict[str, Any]:
    return {**message, "result": result}


# -- replay: answer the live request's JSON-RPC id -------------------------------------------------
def request_id(body: bytes) -> Any:
    """The ``id`` of a JSON-RPC request body, or :data:`NOT_JSON` for a notification, a
    batch, or a body that is not a JSON-RPC request."""
    try:
        message = json.loads(body) if body else None
    except (ValueError, UnicodeDecodeError):
        return NOT_JSON
    if isinstance(message, dict) and message.get("jsonrpc") == "2.0" and "method" in message:
        return message.get("id", NOT_JSON)
    return NOT_JSON


def _reid(message: Any, old: Any, new: Any) -> Any:
    if is_response(message) and message.get("id") == old:
        return {**message, "id": new}
    return message


def with_response_id(response: Response, old: Any, new: Any) -> Response:
    """``response`` answering JSON-RPC id ``new`` where it was recorded answering ``old``.

    A client numbers its requests itself (the MCP SDK counts from 0 per session), so a replay
    must echo the live id, or the client never resolves its pending request. Only the response
    messages carrying ``old`` change; notifications, timing and other bytes stay as recorded.
    """
    if old == new or old is NOT_JSON or new is NOT_JSON:
        return response
    if response.is_sse:
        events = parse_events(response.body)
        changed = False
        for i, event in enumerate(events):
            payload = event.json()
            updated = _reid(payload, old, new)
            if updated is not payload:
                events[i] = event.with_json(updated)
                changed = True
        if not changed:
            return response
        return response.model_copy(update={"body": encode_events(events)})
    try:
        message = json.loads(response.body) if response.body else None
    except (ValueError, UnicodeDecodeError):
        return response
    updated = _reid(message, old, new)
    if updated is message:
        return response
    body = json.dumps(updated, separators=(",", ":"), ensure_ascii=False).encode()
    return response.model_copy(update={"body": body})


def call_key(body: Any) -> str | None:
    """What a ``tools/call`` request asks, without its JSON-RPC id: its tool's name and
    arguments as canonical JSON, hashed; None for any other body. A client that retries a
    call sends it with a new id, so the body differs and this stays: what tells a repeated
    side effect (``duplicate_side_effect``) from a new one."""
    if not isinstance(body, dict) or body.get("method") != "tools/call":
        return None
    params = body.get("params")
    if not isinstance(params, dict):
        return None
    asked = {"name": params.get("name"), "arguments": params.get("arguments")}
    text = json.dumps(asked, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.blake2b(text.encode(), digest_size=12).hexdigest()
