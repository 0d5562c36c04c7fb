"""The ``mcp`` SDK's streamable-HTTP client against MCP traffic recorded and replayed by the proxy.

A real MCP server (the SDK's own ``MCPServer`` under uvicorn) is recorded through the proxy in
both of its answer styles (SSE and plain JSON); the server is then stopped and the client runs
against the replay, with and without faults.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

mcp = pytest.importorskip("mcp")
httpx2 = pytest.importorskip("httpx2")
uvicorn = pytest.importorskip("uvicorn")

from mcp import ClientSession  # noqa: E402
from mcp.client.streamable_http import streamable_http_client  # noqa: E402
from mcp.server.mcpserver import MCPServer  # noqa: E402
from proxy_process import ProxyFactory  # noqa: E402
from pydantic import BaseModel  # noqa: E402


class Order(BaseModel):
    id: str
    status: str
    eta: str | None


def mcp_server(json_response: bool) -> tuple[uvicorn.Server, int]:
    server = MCPServer("orders")

    @server.tool()
    def get_order(order_id: str) -> Order:
        """Look up an order by its number."""
        return Order(id=order_id, status="shipped", eta="2026-03-14")

    app = server.streamable_http_app(json_response=json_response)
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="error")
    runner = uvicorn.Server(config)
    threading.Thread(target=runner.run, daemon=True).start()
    deadline = time.monotonic() + 10
    while not runner.started:
        assert time.monotonic() < deadline, "MCP server did not start"
        time.sleep(0.01)
    return runner, runner.servers[0].sockets[0].getsockname()[1]


async def session_run(url: str, headers: dict[str, str], calls: list[str]) -> list:
    """Initialize, then run ``calls`` ("list" or "call"), returning each result or error."""
    results: list = []
    async with (
        httpx2.AsyncClient(headers=headers, timeout=10) as http,
        streamable_http_client(url, http_client=http) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        for call in calls:
            try:
                if call == "list":
                    results.append(await session.list_tools())
                else:
                    results.append(await session.call_tool("get_order", {"order_id": "1234"}))
            except Exception as exc:  # the SDK's error for this request
                results.append(exc)
    return results


def run(url: str, calls: list[str], **headers: str) -> list:
    return asyncio.run(asyncio.wait_for(session_run(url, headers, calls), 20))


@pytest.fixture(scope="module", params=["sse", "json"])
def replayed(request, tmp_path_factory) -> Iterator[tuple[ProxyFactory, object, Path]]:
    """Record a session through the proxy, stop the server, and start a replaying proxy."""
    tmp = tmp_path_factory.mktemp(f"mcp-{request.param}")
    factory = ProxyFactory(tmp)
    runner, port = mcp_server(json_response=request.param == "json")
    upstream = ["--upstream", f"tools=http://127.0.0.1:{port},env=MCP_URL", "--only", "tools"]
    try:
        recorder = factory("--mode", "record", "--cassettes", str(tmp / "cassettes"), *upstream)
        live = run(recorder.door("tools") + "/mcp", ["list", "call"])
        assert [t.name for t in live[0].tools] == ["get_order"]
        assert live[1].structured_content == {
            "id": "1234",
            "status": "shipped",
            "eta": "2026-03-14",
        }
        code, _, err = recorder.stop()
        assert code == 0, err
    finally:
        runner.should_exit = True
    replayer = factory("--cassettes", str(tmp / "cassettes"), *upstream)
    yield factory, replayer, tmp / "cassettes" / "tools.yaml"
    factory.close()


def test_recording_keeps_the_session_and_answer_style(replayed) -> None:
    _, _, cassette = replayed
    import yaml

    data = yaml.safe_load(cassette.read_text())
    methods = [
        json.loads(i["request"]["body"]).get("method") if i["request"]["body"] else None
        for i in data["interactions"]
    ]
    assert methods[:4] == ["initialize", "notifications/initialized", "tools/list", "tools/call"]
    first = data["interactions"][0]["response"]["headers"]
    assert any(k.lower() == "mcp-session-id" for k in first)


def test_mcp_client_replays_tools_list_and_call(replayed) -> None:
    _, proxy, _ = replayed
    session = uuid.uuid4().hex
    # An extra tools/list shifts every later JSON-RPC id away from the recorded ones: the
    # replay must answer with the live ids or the client never resolves its requests.
    tools, again, result = run(
        proxy.door("tools") + "/mcp", ["list", "list", "call"], **{"x-faultkit-session": session}
    )
    assert [t.name for t in tools.tools] == ["get_order"] == [t.name for t in again.tools]
    assert result.is_error is False
    assert result.structured_content == {"id": "1234", "status": "shipped", "eta": "2026-03-14"}
    entries = proxy.ledger(session=session)
    assert {e["format"] for e in entries if e["method"] == "POST"} == {"mcp"}
    assert all(e["ending"] != "unmatched" for e in entries if e["method"] == "POST")


def test_partial_tool_data_as_is_error_reaches_the_client(replayed) -> None:
    _, proxy, _ = replayed
    rule = {
        "fault": {
            "type": "partial_tool_data",
            "op": "drop_fields",
            "fields": ["eta"],
            "is_error": True,
        },
        "match": {"tool": "get_order"},
    }
    [result] = run(proxy.door("tools") + "/mcp", ["call"], **{"x-faultkit-fault": json.dumps(rule)})
    assert result.is_error is True
    assert "eta" not in result.structured_content
    assert result.structured_content["status"] == "shipped"


def test_structured_content_missing_a_required_field_fails_the_clients_check(replayed) -> None:
    _, proxy, _ = replayed
    rule = {
        "fault": {"type": "partial_tool_data", "op": "drop_fields", "fields": ["status"]},
        "match": {"tool": "get_order"},
    }
    _tools, result = run(
        proxy.door("tools") + "/mcp", ["list", "call"], **{"x-faultkit-fault": json.dumps(rule)}
    )
    assert isinstance(result, Exception)
    assert "structured content" in str(result).lower()


def test_session_expiry_404_on_tools_call(replayed) -> None:
    _, proxy, _ = replayed
    rule = {"fault": {"type": "http_error", "status": 404}, "match": {"tool": "get_order"}}
    tools, result = run(
        proxy.door("tools") + "/mcp", ["list", "call"], **{"x-faultkit-fault": json.dumps(rule)}
    )
    assert [t.name for t in tools.tools] == ["get_order"]
    assert isinstance(result, Exception)


def test_connection_reset_on_tools_call_fails_the_session_fast(replayed) -> None:
    """A reset before the answer surfaces as the transport's read error, not a hang."""
    _, proxy, _ = replayed
    rule = {"fault": {"type": "reset", "at": "before_head"}, "match": {"tool": "get_order"}}
    start = time.monotonic()
    with pytest.raises(BaseException) as caught:
        run(proxy.door("tools") + "/mcp", ["call"], **{"x-faultkit-fault": json.dumps(rule)})
    assert "ReadError" in repr(caught.value) or "RemoteProtocolError" in repr(caught.value)
    assert time.monotonic() - start < 15
    [entry] = [e for e in proxy.ledger() if e["faults"] and e["faults"][0]["type"] == "reset"]
    assert entry["ending"] == "reset"
