"""An MCP session (the ``mcp`` SDK's streamable-HTTP client against a real MCP server) reads
the same through both doors in pass-through.

The server is the SDK's own ``MCPServer`` under uvicorn on 127.0.0.1, in both answer styles
(SSE and plain JSON). The client session (initialize, ``tools/list``, ``tools/call``) runs
through the in-process door (``AsyncHttpx2FaultkitTransport`` under the client's
``httpx2.AsyncClient``) and through a real ``faultkit proxy --mode passthrough``, with no
scenario and with the bundled tool scenario that does not wait out the client
(``partial-tool-data``: MCP's ``structuredContent`` loses ``eta``), switched through the control
API. Compared as every cell (:func:`~conformance_world.differences`); the session's own GET
stream and DELETE are in the ledger like any exchange.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import pytest
import uvicorn
from conformance_doors import SESSION_HEADER, ProxyDoor
from conformance_world import REPO, Run, differences
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.server.mcpserver import MCPServer
from proxy_process import ProxyFactory
from pydantic import BaseModel

from faultkit.doors import AsyncHttpx2FaultkitTransport
from faultkit.engine import Engine
from faultkit.ledger import LedgerEntry
from faultkit.oracle import Result
from faultkit.oracle.result import acapture
from faultkit.scenario import Scenario

ROUTE = "orders"


@dataclass
class Both:
    scenario: Scenario | None
    local: Run
    remote: Run


class Order(BaseModel):
    id: str
    status: str
    eta: str | None
    total: float | None


@pytest.fixture(scope="module", params=["sse", "json"])
def mcp_url(request: pytest.FixtureRequest) -> Iterator[str]:
    server = MCPServer("orders")

    @server.tool()
    def get_order(order_id: str) -> Order:
        """Look up an order by its number."""
        return Order(id=order_id, status="shipped", eta="2026-03-14", total=42.5)

    app = server.streamable_http_app(json_response=request.param == "json")
    runner = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="error"))
    thread = threading.Thread(target=runner.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not runner.started:
        assert thread.is_alive() and time.monotonic() < deadline, "MCP server did not start"
        time.sleep(0.01)
    yield f"http://127.0.0.1:{runner.servers[0].sockets[0].getsockname()[1]}"
    runner.should_exit = True
    thread.join(10)


async def _session(http: httpx2.AsyncClient, url: str) -> tuple[list[tuple[str, Any]], Result]:
    """The SUT: one MCP session; each step's result (or error type) is what the client got."""
    outcomes: list[tuple[str, Any]] = []

    async def app() -> list[Any]:
        async with (
            streamable_http_client(f"{url}/mcp", http_client=http) as (read, write),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            for step in ("list", "call"):
                try:
                    if step == "list":
                        found = await session.list_tools()
                        value: Any = sorted(t.name for t in found.tools)
                    else:
                        result = await session.call_tool("get_order", {"order_id": "1234"})
                        value = [result.is_error, result.structured_content]
                    outcomes.append(("answer", value))
                except Exception as exc:  # what the client got is the outcome under test
                    outcomes.append(("error", type(exc).__qualname__))
        return [value for _, value in outcomes]

    return outcomes, await acapture(app)


def _run_session(http: httpx2.AsyncClient, url: str) -> tuple[list[tuple[str, Any]], Result]:
    async def main() -> tuple[list[tuple[str, Any]], Result]:
        async with http:
            return await asyncio.wait_for(_session(http, url), 30)

    return asyncio.run(main())


def _in_process(scenario: Scenario | None, url: str) -> Run:
    engine = Engine(scenario, timing_scale=0)
    transport = AsyncHttpx2FaultkitTransport(engine, route=ROUTE, mode="passthrough")
    outcomes, result = _run_session(httpx2.AsyncClient(transport=transport, timeout=10), url)
    return Run(outcomes, result, list(engine.ledger.entries))


def _through_proxy(door: ProxyDoor, scenario_file: Path | None, session: str) -> Run:
    door.use(scenario_file)
    http = httpx2.AsyncClient(headers={SESSION_HEADER: session}, timeout=10)
    outcomes, result = _run_session(http, door.process.door(ROUTE))
    rows = door.control.get("/faultkit/ledger", params={"session": session})
    rows.raise_for_status()
    return Run(outcomes, result, [LedgerEntry.model_validate(row) for row in rows.json()])


@pytest.fixture(scope="module")
def proxy(mcp_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProxyDoor]:
    factory = ProxyFactory(tmp_path_factory.mktemp("conformance-mcp"))
    try:
        door = ProxyDoor(factory, {ROUTE: mcp_url}, "--mode", "passthrough")
        yield door
        door.close()
    finally:
        factory.close()


@pytest.fixture(scope="module", params=[None, "partial-tool-data"], ids=str)
def both(request: pytest.FixtureRequest, mcp_url: str, proxy: ProxyDoor) -> Both:
    name: str | None = request.param
    scenario_file = REPO / "scenarios" / f"{name}.yaml" if name else None
    scenario = Scenario.load(scenario_file) if scenario_file else None
    local = _in_process(scenario, mcp_url)
    remote = _through_proxy(proxy, scenario_file, f"mcp-{name}-{id(request)}")
    return Both(scenario, local, remote)


def test_an_mcp_session_reads_the_same_in_both_doors(both: Both) -> None:
    """Everything but how each exchange ended (:func:`test_and_ends_the_same`, kept apart so
    a race in the endings, as there once was (D9), would not hide the other facts): what the
    client got, and every other ledger fact (status, format, tool, faults, bytes sent...)."""
    assert both.local.outcomes[0] == ("answer", ["get_order"])
    if both.scenario is not None:
        assert any(f.type == "partial_tool_data" for e in both.local.ledger for f in e.faults)
    lines = differences(
        both.local, both.remote, both.scenario, left_out=frozenset({"ending"}), verdicts=False
    )
    assert not lines, "the doors disagree on an MCP session:\n" + "\n".join(lines)


def test_and_ends_the_same(both: Both) -> None:
    """The endings too, and so the verdict the oracle gives. The session's GET stream ends
    when the client closes it at the session's end, while the server ends it after the
    DELETE: whichever a door sees first, it ends ``completed`` (a push channel is never
    abandoned: :meth:`~faultkit.doors.flow.ExchangeFlow.client_left`)."""
    lines = differences(both.local, both.remote, both.scenario)
    assert not lines, "the doors disagree on an MCP session:\n" + "\n".join(lines) + _ledgers(both)


def _ledgers(both: Both) -> str:
    """Both doors' ledger entries, for the failure message: which exchange, and how it went."""
    shown = ["", "ledgers (in-process | proxy):"]
    for mine, yours in zip(both.local.ledger, both.remote.ledger, strict=False):
        for side, e in (("L", mine), ("P", yours)):
            shown.append(
                f"  {side} #{e.id} {e.method} {e.url} {e.status} {e.ending} "
                f"sent={e.bytes_sent} end={e.end_ms} err={e.error}"
            )
    return "\n".join(shown)
