"""Details a Toxiproxy user expects of ``faultkit proxy`` (issue 16, item 5), against the real
proxy process: clearing the active scenario, call counters that survive adding or removing a
toxic, built-in upstreams that keep their environment variable when overridden, and
``faultkit proxy`` alone as a plain Toxiproxy server (toxiproxy-python drives it)."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import httpx
import pytest
from proxy_process import SUPPORT_CASSETTES, run_proxy

ORDERS = ["--upstream", "orders=http://orders.internal,env=ORDERS_URL", "--only", "orders"]
YAML = {"content-type": "application/yaml"}
ALWAYS_503 = (
    "name: orders-down\nrules:\n  - match: {route: orders}\n"
    "    fault: {type: http_error, status: 503}\n"
)


def statuses(door: str, n: int) -> list[int]:
    return [httpx.get(door + "/orders/1234", timeout=5).status_code for _ in range(n)]


def test_delete_scenario_clears_the_active_one(proxy) -> None:
    served = proxy("--cassettes", str(SUPPORT_CASSETTES), *ORDERS)
    scenario_url = served.control + "/faultkit/scenario"
    door = served.door("orders")
    loaded = httpx.post(scenario_url, content=ALWAYS_503, headers=YAML, timeout=5)
    assert loaded.status_code == 200 and loaded.json()["active"] is True
    assert statuses(door, 1) == [503]

    cleared = httpx.delete(scenario_url, timeout=5)
    assert cleared.status_code == 200
    assert cleared.headers["content-type"] == "application/json"
    assert cleared.json() == {"cleared": "orders-down"}
    assert httpx.get(scenario_url, timeout=5).json() is None
    assert statuses(door, 2) == [200, 200]
    # Still loaded: a request may select it by name.
    named = httpx.get(
        door + "/orders/1234", headers={"x-faultkit-scenario": "orders-down"}, timeout=5
    )
    assert named.status_code == 503
    # Nothing active: clearing again says so, and is not an error.
    assert httpx.delete(scenario_url, timeout=5).json() == {"cleared": None}


def test_delete_scenario_is_behind_the_origin_and_browser_guards(proxy) -> None:
    served = proxy("--cassettes", str(SUPPORT_CASSETTES), *ORDERS, "--scenario", str(_write(proxy)))
    scenario_url = served.control + "/faultkit/scenario"
    foreign = httpx.delete(scenario_url, headers={"Origin": "http://evil.example"}, timeout=5)
    assert foreign.status_code == 403
    browser = httpx.delete(scenario_url, headers={"User-Agent": "Mozilla/5.0"}, timeout=5)
    assert browser.status_code == 403
    # Neither refused request cleared anything.
    assert httpx.get(scenario_url, timeout=5).json()["name"] == "orders-down"
    assert statuses(served.door("orders"), 1) == [503]


def _write(factory) -> str:
    path = factory.tmp_path / "orders-down.yaml"
    path.write_text(ALWAYS_503)
    return str(path)


def test_overriding_a_builtin_upstream_keeps_its_env_and_export_line(proxy) -> None:
    # faultkit.toml points anthropic elsewhere without env=; --upstream does the same for
    # openai. Both keep the variable their SDK reads; an explicit env= still wins.
    (proxy.tmp_path / "faultkit.toml").write_text(
        '[upstreams.anthropic]\nurl = "http://claude-gateway.internal"\n'
    )
    served = proxy(
        "--cassettes",
        str(SUPPORT_CASSETTES),
        "--upstream",
        "openai=http://llm-gateway.internal/v1",
        "--upstream",
        "orders=http://orders.internal,env=ORDERS_URL",
    )
    doors = {d["name"]: d for d in served.info["doors"]}
    assert doors["openai"]["upstream"] == "http://llm-gateway.internal/v1"
    assert doors["openai"]["env"] == "OPENAI_BASE_URL"
    assert doors["anthropic"]["upstream"] == "http://claude-gateway.internal"
    assert doors["anthropic"]["env"] == "ANTHROPIC_BASE_URL"
    printed = served.out.read_text()
    assert f"export OPENAI_BASE_URL={served.door('openai')}\n" in printed
    assert served.door("openai").endswith("/v1")
    assert f"export ANTHROPIC_BASE_URL={served.door('anthropic')}\n" in printed
    assert f"export ORDERS_URL={served.door('orders')}\n" in printed


def test_an_explicit_env_on_an_override_wins(proxy) -> None:
    served = proxy(
        "--cassettes",
        str(SUPPORT_CASSETTES),
        "--upstream",
        "openai=http://llm-gateway.internal/v1,env=LLM_URL",
        "--only",
        "openai",
    )
    printed = served.out.read_text()
    assert f"export LLM_URL={served.door('openai')}\n" in printed
    assert "OPENAI_BASE_URL" not in printed


def test_adding_or_removing_a_toxic_keeps_the_scenarios_call_counters(proxy) -> None:
    toxiproxy = pytest.importorskip("toxiproxy")
    from toxiproxy.api import APIConsumer

    every_second = (
        "name: orders-every-2nd\nrules:\n  - match: {route: orders}\n"
        "    when: {every: 2}\n    fault: {type: http_error, status: 500}\n"
    )
    path = proxy.tmp_path / "every-2nd.yaml"
    path.write_text(every_second)
    served = proxy("--cassettes", str(SUPPORT_CASSETTES), *ORDERS, "--scenario", str(path))
    door = served.door("orders")
    control = urlsplit(served.control)
    saved = APIConsumer.host, APIConsumer.port
    APIConsumer.host, APIConsumer.port = control.hostname, control.port
    try:
        orders = toxiproxy.Toxiproxy().get_proxy("orders")
        assert statuses(door, 1) == [200]  # call 1
        # An HTTP toxic that never fires (toxicity 0) and a TCP one on the front.
        orders.add_toxic(name="never", type="http_error", attributes={"status": 503}, toxicity=0)
        orders.add_toxic(name="tcp_slow", type="latency", attributes={"latency": 1})
        assert statuses(door, 2) == [500, 200]  # calls 2 and 3, not a fresh call 1
        orders.destroy_toxic("never")
        orders.destroy_toxic("tcp_slow")
        assert statuses(door, 2) == [500, 200]  # calls 4 and 5
    finally:
        APIConsumer.host, APIConsumer.port = saved
    entries = served.ledger()
    assert [e["status"] for e in entries] == [200, 500, 200, 500, 200]


class _Hello(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"hello"
        self.send_response(200)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_no_cassettes_starts_a_plain_toxiproxy_server(proxy) -> None:
    toxiproxy = pytest.importorskip("toxiproxy")
    from toxiproxy.api import APIConsumer

    served = proxy()
    assert served.info["doors"] == []
    printed = served.out.read_text()
    assert "no cassettes, so no doors: a plain Toxiproxy-compatible server" in printed
    assert "export " not in printed
    # A real local service behind a proxy the user creates, as with toxiproxy-server.
    service = ThreadingHTTPServer(("127.0.0.1", 0), _Hello)
    threading.Thread(target=service.serve_forever, daemon=True).start()
    control = urlsplit(served.control)
    saved = APIConsumer.host, APIConsumer.port
    APIConsumer.host, APIConsumer.port = control.hostname, control.port
    try:
        server = toxiproxy.Toxiproxy()
        assert server.proxies() == {}
        created = server.create(
            upstream=f"127.0.0.1:{service.server_port}", name="hello", listen="127.0.0.1:0"
        )
        url = f"http://{created.listen}/"
        assert httpx.get(url, timeout=5).text == "hello"
        created.add_toxic(name="slow", type="latency", attributes={"latency": 300})
        start = time.monotonic()
        assert httpx.get(url, timeout=10).text == "hello"
        assert time.monotonic() - start >= 0.25
        created.destroy()
        assert server.proxies() == {}
    finally:
        APIConsumer.host, APIConsumer.port = saved
        service.shutdown()
        service.server_close()


@pytest.mark.parametrize(
    "args",
    [["--mode", "replay"], ["--scenario", "429-burst"], ["--upstream", "x=http://x.internal"]],
)
def test_asking_for_doors_without_cassettes_is_still_refused(tmp_path, args) -> None:
    code, out, err = run_proxy(tmp_path, *args)
    assert code == 2 and out == ""
    assert err.strip() == "faultkit proxy: replay mode needs --cassettes DIR (a file or directory)"
