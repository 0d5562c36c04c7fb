"""faultkit's HTTP faults through the Toxiproxy-compatible API, with toxiproxy-python 0.1.1."""

from __future__ import annotations

import time
from urllib.parse import urlsplit

import httpx
import pytest
from proxy_process import SUPPORT_CASSETTES, ProxyFactory

toxiproxy = pytest.importorskip("toxiproxy")
from toxiproxy.api import APIConsumer  # noqa: E402

ORDERS = ["--upstream", "orders=http://orders.internal,env=ORDERS_URL"]


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    factory = ProxyFactory(tmp_path_factory.mktemp("toxi"))
    process = factory("--cassettes", str(SUPPORT_CASSETTES), *ORDERS)
    control = urlsplit(process.control)
    saved = APIConsumer.host, APIConsumer.port
    APIConsumer.host, APIConsumer.port = control.hostname, control.port
    yield process
    APIConsumer.host, APIConsumer.port = saved
    factory.close()


@pytest.fixture
def server(served):
    client = toxiproxy.Toxiproxy()
    yield client
    client.reset()


def get_order(base_url: str) -> httpx.Response:
    return httpx.get(base_url + "/orders/1234", timeout=5)


def test_every_door_is_a_toxiproxy_proxy_fronting_it(served, server) -> None:
    proxies = server.proxies()
    assert set(proxies) >= {"openai", "anthropic", "orders"}
    orders = proxies["orders"]
    assert orders.upstream == served.address("orders").removeprefix("http://")
    door = next(d for d in served.info["doors"] if d["name"] == "orders")
    assert orders.listen == door["tcp"]
    # The TCP front forwards to the door: same answer either way.
    assert get_order("http://" + orders.listen).json()["id"] == "1234"


def test_http_fault_added_and_removed_as_a_toxic(served, server) -> None:
    proxy = server.get_proxy("orders")
    proxy.add_toxic(name="orders_down", type="http_error", attributes={"status": 503})
    listed = proxy.get_toxic("orders_down")
    assert listed.type == "http_error"
    assert listed.attributes["status"] == 503
    assert get_order(served.door("orders")).status_code == 503
    [entry] = [e for e in served.ledger() if e["faults"]][-1:]
    assert entry["faults"][0]["rule"] == "orders/orders_down"
    proxy.destroy_toxic("orders_down")
    assert get_order(served.door("orders")).status_code == 200


def test_colliding_fault_names_use_the_http_prefix(served, server) -> None:
    proxy = server.get_proxy("orders")
    proxy.add_toxic(name="slow", type="http_latency", attributes={"latency_ms": 300})
    start = time.monotonic()
    assert get_order(served.door("orders")).status_code == 200
    assert time.monotonic() - start >= 0.3


def test_tcp_toxic_applies_on_the_front_not_the_direct_door(served, server) -> None:
    proxy = server.get_proxy("orders")
    proxy.add_toxic(name="tcp_slow", type="latency", attributes={"latency": 400})
    start = time.monotonic()
    assert get_order("http://" + proxy.listen).status_code == 200
    through_front = time.monotonic() - start
    start = time.monotonic()
    assert get_order(served.door("orders")).status_code == 200
    direct = time.monotonic() - start
    assert through_front >= 0.4
    assert direct < 0.3


def test_toxiproxy_reset_removes_http_faults(served, server) -> None:
    server.get_proxy("orders").add_toxic(
        name="flaky", type="http_error", attributes={"status": 500}
    )
    assert get_order(served.door("orders")).status_code == 500
    server.reset()
    assert get_order(served.door("orders")).status_code == 200


def test_toxicity_becomes_the_rules_probability(served, server) -> None:
    proxy = server.get_proxy("orders")
    proxy.add_toxic(name="never", type="http_error", attributes={"status": 500}, toxicity=0.0)
    assert [get_order(served.door("orders")).status_code for _ in range(5)] == [200] * 5


def test_invalid_http_toxic_is_a_400_naming_the_field(served) -> None:
    r = httpx.post(
        f"{served.control}/proxies/orders/toxics",
        json={"name": "bad", "type": "http_error", "attributes": {"status": 99}},
        timeout=5,
    )
    assert r.status_code == 400
    assert "status" in r.json()["error"]


def test_http_toxic_on_a_plain_tcp_proxy_is_refused(served, server) -> None:
    server.create(upstream="127.0.0.1:9", name="plain_tcp")
    try:
        r = httpx.post(
            f"{served.control}/proxies/plain_tcp/toxics",
            json={"name": "x", "type": "http_error", "attributes": {"status": 500}},
            timeout=5,
        )
        assert r.status_code == 400
        assert "doors" in r.json()["error"]
    finally:
        server.get_proxy("plain_tcp").destroy()


def test_faultkit_routes_live_on_the_toxiproxy_port(served) -> None:
    r = httpx.get(served.control + "/faultkit/doors", timeout=5)
    assert r.status_code == 200
    assert {d["name"] for d in r.json()["doors"]} >= {"orders"}
    assert httpx.get(served.control + "/version", timeout=5).status_code == 200
