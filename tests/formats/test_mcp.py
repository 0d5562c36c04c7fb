"""mcp helpers: the tools/call result in a JSON or SSE answer, and the JSON copies inside it."""

from __future__ import annotations

import json

from faultkit.exchange import Response, ResponseHead
from faultkit.formats import mcp
from faultkit.plan import Plan

DATA = {"orders": [{"id": 1, "total": 9.5}], "customer": "ada"}
RESULT = {
    "jsonrpc": "2.0",
    "id": 3,
    "result": {
        "content": [
            {"type": "text", "text": json.dumps(DATA, indent=2)},
            {"type": "text", "text": "Found 1 order."},
        ],
        "structuredContent": DATA,
        "isError": False,
    },
}
PROGRESS = {
    "jsonrpc": "2.0",
    "method": "notifications/progress",
    "params": {"progressToken": 1, "progress": 1, "total": 2},
}


def plan(body: bytes, content_type: str) -> Plan:
    head = ResponseHead(status=200, headers=(("content-type", content_type),))
    return Plan.from_response(Response(head=head, body=body))


def test_result_documents_are_structured_content_then_json_text_blocks() -> None:
    docs = mcp.result_documents(RESULT["result"])
    assert [d.where for d in docs] == ["result.structuredContent", "result.content[0].text"]
    assert docs[0].value == docs[1].value == DATA


def test_with_document_rewrites_a_text_copy_in_its_layout() -> None:
    text_doc = mcp.result_documents(RESULT["result"])[1]
    new = mcp.with_document(RESULT["result"], text_doc, {"orders": []})
    assert new["content"][0]["text"] == json.dumps({"orders": []}, indent=2)
    assert new["content"][1] == RESULT["result"]["content"][1]
    assert RESULT["result"]["content"][0]["text"] == json.dumps(DATA, indent=2)


def test_read_and_write_a_json_answer() -> None:
    p = plan(json.dumps(RESULT).encode(), "application/json")
    located = mcp.read_message(p)
    assert located is not None and located.event is None
    assert mcp.tool_result(located.value) == RESULT["result"]
    written = mcp.write_message(p, located, {**RESULT, "id": 4})
    assert json.loads(written.body_bytes())["id"] == 4


def test_read_and_write_an_sse_answer_after_a_notification() -> None:
    body = f"data: {json.dumps(PROGRESS)}\n\nid: 7\ndata: {json.dumps(RESULT)}\n\n".encode()
    p = plan(body, "text/event-stream")
    located = mcp.read_message(p)
    assert located is not None and located.event == 1
    written = mcp.write_message(p, located, {**RESULT, "id": 4})
    events = written.events()
    assert events[0].raw == p.events()[0].raw
    assert events[1].json()["id"] == 4
    assert events[1].id == "7"  # the SSE event id (resumability cursor) is kept


def test_non_responses_are_not_tool_results() -> None:
    assert mcp.tool_result(PROGRESS) is None
    assert not mcp.is_response({"jsonrpc": "2.0", "id": 1, "method": "tools/call"})
    error = {"jsonrpc": "2.0", "id": 1, "error": {"code": -32602, "message": "x"}}
    assert mcp.is_response(error) and mcp.tool_result(error) is None
    assert mcp.read_message(plan(b"data: {}\n\n", "text/event-stream")) is None
    assert mcp.read_message(plan(b"not json", "application/json")) is None
