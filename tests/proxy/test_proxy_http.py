"""The proxy process over raw HTTP: the bar (400s, exit codes, shutdown) and the wire details."""

from __future__ import annotations

import itertools
import json
import re
import signal
import socket
import subprocess
import sys
import time
import uuid

import httpx
import pytest
from proxy_process import SUPPORT_CASSETTES, ProxyFactory, run_proxy

ORDERS = ["--upstream", "orders=http://orders.internal,env=ORDERS_URL"]


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    factory = ProxyFactory(tmp_path_factory.mktemp("http"))
    yield factory("--cassettes", str(SUPPORT_CASSETTES), *ORDERS)
    factory.close()


def raw_exchange(port: int, data: bytes, timeout: float = 5) -> bytes:
    """Send ``data`` on a fresh connection and read until the server closes it."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(data)
        chunks = []
        while True:
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                break
            if not chunk:
                break
            chunks.append(chunk)
    return b"".join(chunks)


def sse_events_with_arrival(url: str, headers: dict[str, str]) -> list[tuple[float, str]]:
    start = time.monotonic()
    out = []
    with httpx.stream("GET", url, headers=headers, timeout=10) as r:
        for line in r.iter_lines():
            if line:
                out.append((time.monotonic() - start, line))
    return out


# -- the bar ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "garbage",
    [
        b"THIS IS NOT HTTP\r\n\r\n",
        b"GET /orders/1234 HTTP/1.1\r\nHost: x\r\nBad Header Line\r\n\r\n",
        b"GET /orders/1234 HTTP/1.1\r\nContent-Length: abc\r\n\r\n",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 40,  # a TLS ClientHello
    ],
)
def test_malformed_http_gets_400_and_the_proxy_keeps_serving(served, garbage) -> None:
    answer = raw_exchange(served.port("orders"), garbage)
    assert answer.startswith(b"HTTP/1.1 400 ")
    assert b'"faultkit_bad_request"' in answer
    r = httpx.get(served.door("orders") + "/orders/1234", timeout=5)
    assert r.status_code == 200
    assert r.json()["id"] == "1234"


def test_port_in_use_is_one_line_and_exit_2(tmp_path) -> None:
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        code, _out, err = run_proxy(
            tmp_path, "--cassettes", str(SUPPORT_CASSETTES), "--port", str(port)
        )
    assert code == 2
    assert err.strip().count("\n") == 0
    assert f"127.0.0.1:{port}" in err and "address already in use" in err
    assert "Traceback" not in err


def test_control_port_in_use_is_exit_2(tmp_path) -> None:
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        code, _, err = run_proxy(
            tmp_path, "--cassettes", str(SUPPORT_CASSETTES), "--control-port", str(port)
        )
    assert code == 2 and "address already in use" in err


def test_bad_scenario_is_one_line_naming_file_and_line(tmp_path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\nrules:\n  - fault: {type: http_error, status: 999}\n")
    code, _, err = run_proxy(
        tmp_path, "--cassettes", str(SUPPORT_CASSETTES), "--scenario", str(bad)
    )
    assert code == 2
    assert err.strip().count("\n") == 0
    assert "bad.yaml:3" in err and "status" in err


def test_missing_cassette_dir_is_exit_2(tmp_path) -> None:
    code, _, err = run_proxy(tmp_path, "--cassettes", str(tmp_path / "nope"))
    assert code == 2
    assert "nope" in err and "not found" in err
    assert err.strip().count("\n") == 0


def test_non_loopback_bind_needs_allow_remote(tmp_path) -> None:
    code, _, err = run_proxy(tmp_path, "--cassettes", str(SUPPORT_CASSETTES), "--host", "0.0.0.0")
    assert code == 2
    assert "--allow-remote" in err


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM])
def test_clean_shutdown_on_signal(proxy, stop) -> None:
    door = proxy("--cassettes", str(SUPPORT_CASSETTES))
    code, out, err = door.stop(stop)
    assert code == 0
    assert "Traceback" not in err
    assert "export OPENAI_BASE_URL=" in out and "export ANTHROPIC_BASE_URL=" in out


def test_default_binds_loopback_and_prints_doors(served) -> None:
    out = served.out.read_text()
    for door in served.info["doors"]:
        assert door["address"].startswith("http://127.0.0.1:")
        assert door["address"] in out
    assert served.control in out
    assert f"export ORDERS_URL={served.door('orders')}" in out


# -- replay over plain HTTP ---------------------------------------------------------------------


def test_plain_httpx_tool_replay(served) -> None:
    with httpx.Client(base_url=served.door("orders"), timeout=5) as http:
        assert http.get("/orders/1234").json()["status"] == "shipped"
        missing = http.get("/orders/9999")
    assert missing.status_code == 404


def test_unmatched_request_is_an_explicit_502_naming_the_closest(served) -> None:
    r = httpx.get(served.door("orders") + "/orders/5555", timeout=5)
    assert r.status_code == 502
    assert r.headers["x-faultkit-error"] == "unmatched"
    assert r.headers["x-should-retry"] == "false"
    error = r.json()["error"]
    assert error["type"] == "faultkit_unmatched"
    assert error["url"] == "http://orders.internal/orders/5555"
    assert error["closest"]
    assert all("GET http://orders.internal/orders/" in c for c in error["closest"])


def test_bad_fault_header_is_a_400_naming_the_problem(served) -> None:
    r = httpx.get(
        served.door("orders") + "/orders/1234",
        headers={"x-faultkit-fault": "type=nosuchfault"},
        timeout=5,
    )
    assert r.status_code == 400
    assert "unknown fault type 'nosuchfault'" in r.json()["error"]["message"]
    r = httpx.get(
        served.door("orders") + "/orders/1234",
        headers={"x-faultkit-scenario": "no-such-scenario"},
        timeout=5,
    )
    assert r.status_code == 400
    assert "no-such-scenario" in r.json()["error"]["message"]


def test_keep_alive_and_pipelining_answer_in_order(served) -> None:
    request = b"GET /orders/%b HTTP/1.1\r\nHost: x\r\n\r\n"
    data = (
        request % b"1234"
        + request % b"9999"
        + (request % b"1234").replace(b"Host: x\r\n", b"Host: x\r\nConnection: close\r\n")
    )
    answer = raw_exchange(served.port("orders"), data)
    assert re.findall(rb"HTTP/1\.1 (\d{3}) ", answer) == [b"200", b"404", b"200"]


def test_http10_client_gets_a_closed_delimited_answer(served) -> None:
    answer = raw_exchange(served.port("orders"), b"GET /orders/1234 HTTP/1.0\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 200 ")
    assert b"connection: close" in answer.lower()
    assert answer.endswith(b"}")


# -- fault execution on the wire ----------------------------------------------------------------


def test_latency_fault_delays_the_head(served) -> None:
    start = time.monotonic()
    r = httpx.get(
        served.door("orders") + "/orders/1234",
        headers={"x-faultkit-fault": "type=latency;latency_ms=250"},
        timeout=5,
    )
    elapsed = time.monotonic() - start
    assert r.status_code == 200
    assert 0.25 <= elapsed < 0.6


def test_reset_fault_is_a_tcp_reset(served) -> None:
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        httpx.get(
            served.door("orders") + "/orders/1234",
            headers={"x-faultkit-fault": "type=reset;at=before_head"},
            timeout=5,
        )
    answer = b""
    with socket.create_connection(("127.0.0.1", served.port("orders")), timeout=5) as sock:
        sock.sendall(
            b"GET /orders/1234 HTTP/1.1\r\nHost: x\r\nx-faultkit-fault: type=reset\r\n\r\n"
        )
        with pytest.raises(ConnectionResetError):  # an RST, not a FIN
            while chunk := sock.recv(1024):
                answer += chunk
    # mid-body (the default): the head and part of a chunked body, never its terminator.
    assert answer.startswith(b"HTTP/1.1 200 ")
    assert b"transfer-encoding: chunked" in answer.lower()
    assert not answer.endswith(b"0\r\n\r\n")


def test_sse_events_flushed_one_by_one_with_heartbeats_during_a_stall(tmp_path) -> None:
    """A recorded stream with timing; a stall fault with heartbeats after its first event."""
    from faultkit.cassettes import write_cassette
    from faultkit.exchange import Request, Response, ResponseHead

    events = b"".join(b'data: {"n": %d}\n\n' % i for i in range(4))
    response = Response(
        head=ResponseHead(status=200, headers=(("content-type", "text/event-stream"),)),
        body=events,
        event_offsets_ms=(0.0, 150.0, 300.0, 450.0),
    )
    request = Request(method="GET", url="http://stream.internal/events")
    write_cassette(tmp_path / "stream.yaml", [(request, response)])
    factory = ProxyFactory(tmp_path)
    try:
        door = factory(
            "--cassettes",
            str(tmp_path / "stream.yaml"),
            "--upstream",
            "stream=http://stream.internal",
            "--only",
            "stream",
        )
        url = door.door("stream") + "/events"
        paced = sse_events_with_arrival(url, {})
        data_times = [t for t, line in paced if line.startswith("data:")]
        assert len(data_times) == 4
        gaps = [b - a for a, b in itertools.pairwise(data_times)]
        # Paced (recorded gaps of 150 ms), not flushed at once. Events are due at their offset
        # from the start, so one late event shortens the next gap: the per-gap bound is half
        # the recorded gap, and the total (450 ms recorded) must not reach a doubled 900 ms.
        assert all(g >= 0.075 for g in gaps), gaps
        assert 0.42 <= data_times[-1] - data_times[0] < 0.85, gaps

        fault = json.dumps(
            {"type": "stall", "stall_ms": 600, "after_events": 1, "heartbeat_ms": 100}
        )
        stalled = sse_events_with_arrival(url, {"x-faultkit-fault": fault})
        beats = [t for t, line in stalled if line.startswith(":")]
        data = [t for t, line in stalled if line.startswith("data:")]
        assert len(beats) >= 4
        assert data[1] - data[0] >= 0.6
        assert all(data[0] < t < data[1] for t in beats)
    finally:
        factory.close()


# -- control API ----------------------------------------------------------------------------------


def test_control_api_refuses_browsers(served) -> None:
    r = httpx.get(
        served.control + "/faultkit/ledger",
        headers={"user-agent": "Mozilla/5.0 (X11; Linux x86_64)"},
        timeout=5,
    )
    assert r.status_code == 403


def test_runtime_fault_added_and_removed_through_the_control_api(served) -> None:
    name = f"orders-down-{uuid.uuid4().hex[:6]}"
    url = served.door("orders") + "/orders/1234"
    added = httpx.post(
        served.control + "/faultkit/faults",
        json={"name": name, "upstream": "orders", "fault": {"type": "http_error", "status": 503}},
        timeout=5,
    )
    assert added.status_code == 200, added.text
    try:
        assert httpx.get(url, timeout=5).status_code == 503
        assert name in httpx.get(served.control + "/faultkit/faults", timeout=5).json()
    finally:
        gone = httpx.delete(f"{served.control}/faultkit/faults/{name}", timeout=5)
    assert gone.status_code == 204
    assert httpx.get(url, timeout=5).status_code == 200


def test_scenario_loaded_at_runtime_then_reset(proxy) -> None:
    door = proxy("--cassettes", str(SUPPORT_CASSETTES), *ORDERS)
    scenario = (
        "name: orders-flaky\nrules:\n"
        "  - match: {route: orders}\n    when: {nth: 1}\n"
        "    fault: {type: http_error, status: 500}\n"
    )
    yaml_type = {"content-type": "application/yaml"}
    r = httpx.post(
        door.control + "/faultkit/scenario", content=scenario, headers=yaml_type, timeout=5
    )
    assert r.status_code == 200 and r.json()["active"] is True
    url = door.door("orders") + "/orders/1234"
    assert [httpx.get(url, timeout=5).status_code for _ in range(2)] == [500, 200]
    assert len(door.ledger()) == 2
    assert httpx.post(door.control + "/faultkit/reset", timeout=5).status_code == 204
    assert door.ledger() == []
    bad = httpx.post(
        door.control + "/faultkit/scenario",
        content="name: x\nrules: 3\n",
        headers=yaml_type,
        timeout=5,
    )
    assert bad.status_code == 400
    assert "rules" in bad.json()["error"]


def test_faultkit_cli_runs_the_proxy_command(tmp_path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "faultkit.cli",
            "proxy",
            "--cassettes",
            str(tmp_path / "none"),
            "--control-port",
            "0",
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith("faultkit proxy: ") and "not found" in proc.stderr


def test_route_aliases_come_from_the_config_the_proxy_was_given(tmp_path) -> None:
    """``--config`` elsewhere than the working directory: its ``[routes]`` aliases are the
    ones a scenario's ``route:`` names, as in the in-process door."""
    conf = tmp_path / "conf"
    conf.mkdir()
    (conf / "faultkit.toml").write_text(
        '[upstreams.orders]\nurl = "http://orders.internal"\n\n[routes]\nshop = "order*"\n'
    )
    scenario = conf / "shop-down.yaml"
    scenario.write_text(
        "name: shop-down\nrules:\n  - match: {route: shop}\n"
        "    fault: {type: http_error, status: 503}\n"
    )
    factory = ProxyFactory(tmp_path)
    try:
        proxy = factory(
            "--config",
            str(conf / "faultkit.toml"),
            "--cassettes",
            str(SUPPORT_CASSETTES),
            "--scenario",
            str(scenario),
        )
        r = httpx.get(proxy.door("orders") + "/orders/1234", timeout=5)
        assert r.status_code == 503
        (entry,) = proxy.ledger()
        assert [f["rule"] for f in entry["faults"]] == ["rule-1"]
    finally:
        factory.close()
