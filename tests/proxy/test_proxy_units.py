"""The proxy's pure parts, without a process: headers, config, framing, plan execution."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from faultkit.doors.flow import ExchangeFlow, clock
from faultkit.doors.proxy.bridge import toxic_types
from faultkit.doors.proxy.config import (
    ConfigError,
    find_config,
    load_upstreams,
    parse_upstream_option,
)
from faultkit.doors.proxy.execute import Delivery, choose_framing, execute
from faultkit.doors.proxy.headers import (
    ContextKey,
    HeaderError,
    header_rules,
    split_control_headers,
)
from faultkit.doors.proxy.state import FaultState
from faultkit.engine import Engine
from faultkit.exchange import Request, ResponseHead
from faultkit.formats.sse import SSEEvent
from faultkit.plan import Close, Plan, Reset, SendBytes, SendEvent, SendHead, Wait
from faultkit.scenario import Scenario

# -- headers --------------------------------------------------------------------------------------


def test_control_headers_are_split_off_and_keyed() -> None:
    key, rest = split_control_headers(
        (
            ("Content-Type", "application/json"),
            ("X-Faultkit-Session", "w1"),
            ("x-faultkit-fault", "type=latency;latency_ms=5"),
            ("x-faultkit-fault", '{"type": "http_error", "status": 429}'),
            ("X-Faultkit-Scenario", "429-burst"),
        )
    )
    assert rest == (("Content-Type", "application/json"),)
    assert key == ContextKey(
        "429-burst", "w1", ("type=latency;latency_ms=5", '{"type": "http_error", "status": 429}')
    )


def test_fault_header_short_form_json_and_rule_forms() -> None:
    rules = header_rules(
        (
            "type=http_error;status=429;retry_after_s=1.5;message=slow down",
            '[{"type": "latency", "latency_ms": 10}, '
            '{"fault": {"type": "http_error", "status": 500}, "when": {"nth": 2}}]',
        )
    )
    assert [r.fault.type for r in rules] == ["http_error", "latency", "http_error"]
    assert rules[0].fault.status == 429
    assert rules[0].fault.retry_after_s == 1.5
    assert rules[0].fault.message == "slow down"
    assert rules[2].when.nth == 2
    assert [r.name for r in rules] == [f"x-faultkit-fault#{i}" for i in (1, 2, 3)]


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("type=nope", "unknown fault type 'nope'"),
        ("status", "not key=value"),
        ('{"type": "http_error"', "invalid JSON"),
        ("type=http_error;status=99", "status"),
        ("type=latency;latency_ms=5;bogus=1", "bogus"),
        ("[1]", "expected a JSON object"),
    ],
)
def test_bad_fault_headers_say_what_is_wrong(value: str, problem: str) -> None:
    with pytest.raises(HeaderError) as caught:
        header_rules((value,))
    assert problem in str(caught.value)


# -- config ---------------------------------------------------------------------------------------


def test_builtin_upstreams_and_their_export_urls() -> None:
    upstreams = {u.name: u for u in load_upstreams(None)}
    assert upstreams["openai"].env == "OPENAI_BASE_URL"
    assert upstreams["openai"].door_url("http://127.0.0.1:9") == "http://127.0.0.1:9/v1"
    assert upstreams["anthropic"].door_url("http://127.0.0.1:9") == "http://127.0.0.1:9"
    assert upstreams["anthropic"].origin == "https://api.anthropic.com"


def test_faultkit_toml_declares_and_overrides_upstreams(tmp_path: Path) -> None:
    (tmp_path / "faultkit.toml").write_text(
        '[upstreams.orders]\nurl = "http://localhost:9000/api/"\nenv = "ORDERS_URL"\nport = 8481\n'
        '[upstreams.openai]\nurl = "http://llm.internal/v1"\nenv = "OPENAI_BASE_URL"\n'
    )
    path = find_config(tmp_path)
    upstreams = {u.name: u for u in load_upstreams(path)}
    assert upstreams["orders"].url == "http://localhost:9000/api"
    assert upstreams["orders"].port == 8481
    assert upstreams["orders"].door_url("http://127.0.0.1:1") == "http://127.0.0.1:1/api"
    assert upstreams["openai"].origin == "http://llm.internal"
    assert "anthropic" in upstreams


def test_pyproject_tool_table(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\n[tool.faultkit.upstreams.search]\nurl = "https://s.example"\n'
    )
    upstreams = {u.name: u for u in load_upstreams(find_config(tmp_path))}
    assert upstreams["search"].url == "https://s.example"
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n')
    assert find_config(tmp_path) is None


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('[upstreams.x]\nurl = "ftp://x"\n', "http"),
        ('[upstreams.x]\nurl = "http://x"\nenvv = "X"\n', "unknown field"),
        ("[upstreams\n", "invalid TOML"),
    ],
)
def test_bad_config_is_located(tmp_path: Path, text: str, problem: str) -> None:
    (tmp_path / "faultkit.toml").write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_upstreams(tmp_path / "faultkit.toml")
    assert problem in str(caught.value)
    assert "faultkit.toml" in str(caught.value)


def test_upstream_option() -> None:
    upstream = parse_upstream_option("mcp=http://127.0.0.1:9/srv,env=MCP_URL,port=0")
    assert (upstream.name, upstream.env, upstream.port) == ("mcp", "MCP_URL", 0)
    with pytest.raises(ConfigError):
        parse_upstream_option("mcp")
    with pytest.raises(ConfigError):
        parse_upstream_option("mcp=http://x,color=red")


# -- framing and execution ------------------------------------------------------------------------

HEAD = SendHead(head=ResponseHead(status=200, headers=(("content-type", "text/event-stream"),)))


def event(n: int) -> SendEvent:
    return SendEvent(event=SSEEvent(data=json.dumps({"n": n})))


def test_framing_follows_the_plan() -> None:
    body = Plan(actions=(HEAD, SendBytes(data=b"abc"), SendBytes(data=b"de"), Close()))
    assert choose_framing(body, method="GET", http11=True) == ("length", 5)
    assert choose_framing(body, method="HEAD", http11=True) == ("none", 0)
    stream = Plan(actions=(HEAD, event(0), Close()))
    assert choose_framing(stream, method="GET", http11=True)[0] == "chunked"
    assert choose_framing(stream, method="GET", http11=False)[0] == "close"
    cut = Plan(actions=(HEAD, SendBytes(data=b"abc"), Reset()))
    assert choose_framing(cut, method="GET", http11=True)[0] == "chunked"
    lying = Plan(
        actions=(
            SendHead(head=ResponseHead(status=200, headers=(("content-length", "100"),))),
            SendBytes(data=b"short"),
            Reset(),
        )
    )
    assert choose_framing(lying, method="GET", http11=True)[0] == "raw"


class FakeSink:
    """Records what was written and when (loop time)."""

    def __init__(self) -> None:
        self.writes: list[tuple[float, bytes]] = []
        self.was_reset = False
        self.closed = False

    def write(self, data: bytes) -> None:
        self.writes.append((asyncio.get_running_loop().time(), data))

    async def drain(self) -> None:
        return None

    def reset(self) -> None:
        self.was_reset = True
        self.closed = True


async def test_events_are_written_one_by_one_on_their_planned_time() -> None:
    plan = Plan(actions=(HEAD, event(0), Wait(ms=150), event(1), Wait(ms=150), event(2), Close()))
    sink = FakeSink()
    start = asyncio.get_running_loop().time()
    outcome = await execute(plan, sink, start=start)
    assert outcome.ending == "completed" and outcome.keep_alive
    times = [t - start for t, _ in sink.writes]
    # head + first event together, then one write per event (the last with the terminator).
    assert len(sink.writes) == 3
    assert sink.writes[0][1].startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"transfer-encoding: chunked" in sink.writes[0][1]
    # On time, each wait once: 0.15 s and 0.3 s. The upper bounds leave 140 ms for a busy
    # 2-core machine and still fail a wait counted twice (0.3 s, 0.6 s).
    assert 0.145 <= times[1] < 0.29 and 0.295 <= times[2] < 0.44
    assert sink.writes[-1][1].endswith(b"0\r\n\r\n")


async def test_heartbeats_during_a_wait_and_reset_at_the_end() -> None:
    plan = Plan(actions=(HEAD, event(0), Wait(ms=100, heartbeat_ms=30), Reset(reason="cut")))
    sink = FakeSink()
    outcome = await execute(plan, sink, start=asyncio.get_running_loop().time())
    body = b"".join(data for _, data in sink.writes)
    assert body.count(b": keep-alive") == 3
    assert not body.endswith(b"0\r\n\r\n")
    assert sink.was_reset
    assert outcome.ending == "reset" and not outcome.keep_alive


def ending_of(plan: Plan, delivery: Delivery) -> str:
    """The ledger ending the exchange flow writes for ``delivery`` of ``plan``, as the door
    reports it (the rule for a client that left lives in the flow, not in ``execute``)."""
    engine = Engine(routes={})
    flow = ExchangeFlow(
        engine, Request(method="GET", url="http://x/"), "x", mode="replay", clock=clock(0.0)
    )
    flow.plan_played(plan, delivery.ending, delivered=delivery.delivered, sent=delivery.bytes_sent)
    return engine.ledger.entries[0].ending


async def test_client_leaving_before_the_last_event_is_client_closed() -> None:
    plan = Plan(actions=(HEAD, event(0), Wait(ms=50), event(1), Close()))
    sink = FakeSink()
    task = asyncio.ensure_future(execute(plan, sink, start=asyncio.get_running_loop().time()))
    await asyncio.sleep(0.01)
    task.cancel()
    delivery = await task
    assert delivery.ending is None and ending_of(plan, delivery) == "client_closed"


async def test_client_leaving_when_only_the_close_remains_is_completed() -> None:
    plan = Plan(actions=(HEAD, event(0), Wait(ms=50), Close()))
    sink = FakeSink()
    task = asyncio.ensure_future(execute(plan, sink, start=asyncio.get_running_loop().time()))
    await asyncio.sleep(0.01)
    task.cancel()
    delivery = await task
    assert delivery.ending is None and ending_of(plan, delivery) == "completed"


# -- state and bridge -----------------------------------------------------------------------------


def test_contexts_count_separately_and_share_the_runtime_rules() -> None:
    scenario = Scenario.from_yaml(
        "name: s\nrules:\n  - when: {nth: 1}\n    fault: {type: http_error, status: 500}\n"
    )
    state = FaultState(scenario, source=None)
    request = Request(method="GET", url="http://t/x")
    first = state.engine_for(ContextKey(session="a"))
    other = state.engine_for(ContextKey(session="b"))
    assert first is state.engine_for(ContextKey(session="a"))
    assert first.select(request, "t", 0).firings
    assert not first.select(request, "t", 1).firings
    assert other.select(request, "t", 2).firings  # its own first call
    from faultkit.scenario import Rule

    state.set_runtime_rule(
        "t/x", Rule.model_validate({"fault": {"type": "latency", "latency_ms": 1}})
    )
    rebuilt = state.engine_for(ContextKey(session="a"))
    # Its third call: the scenario's nth: 1 does not fire again (the counters survive the
    # rebuild), the new runtime rule does.
    assert [f.fault.type for f in rebuilt.select(request, "t", 3).firings] == ["latency"]
    assert len(rebuilt.ledger) == 3  # the ledger survives the rebuild
    with pytest.raises(HeaderError):
        state.engine_for(ContextKey(scenario="no-such-scenario-anywhere"))


def test_bridge_toxic_types_avoid_tcp_names() -> None:
    names = toxic_types({"latency", "timeout", "bandwidth"})
    assert names["http_error"] == "http_error"
    assert names["http_latency"] == "latency"
    assert "latency" not in names
    assert "timeout" not in names and names["http_timeout"] == "timeout"
