"""`faultkit proxy` with TOXIPROXY_URL: the doors' TCP fronts live on an existing Toxiproxy.

The "existing Toxiproxy" here is a second faultkit proxy process, whose control API is
Toxiproxy-compatible (its conformance is tested in tests/toxiproxy); a team's real Toxiproxy
server speaks the same API.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

import httpx
from proxy_process import SUPPORT_CASSETTES, ProxyFactory, run_proxy

ORDERS = ["--upstream", "orders=http://orders.internal,env=ORDERS_URL", "--only", "orders"]


def _remote_proxies(control: str) -> dict:
    return httpx.get(f"{control}/proxies", timeout=5).json()


def test_fronts_are_created_on_the_external_toxiproxy_and_its_toxics_apply(
    proxy: ProxyFactory,
) -> None:
    external = proxy("--cassettes", str(SUPPORT_CASSETTES), "--only", "openai")
    served = proxy(
        "--cassettes", str(SUPPORT_CASSETTES), *ORDERS, "--toxiproxy-url", external.control
    )

    front = next(d["tcp"] for d in served.info["doors"] if d["name"] == "orders")
    remote = _remote_proxies(external.control)
    assert remote["orders"]["listen"] == front
    assert remote["orders"]["upstream"] == served.address("orders").removeprefix("http://")

    added = httpx.post(
        f"{external.control}/proxies/orders/toxics",
        json={"name": "slow", "type": "latency", "attributes": {"latency": 400}},
        timeout=5,
    )
    assert added.status_code == 200
    start = time.monotonic()
    reply = httpx.get(f"http://{front}/orders/1234", timeout=5)
    assert reply.status_code == 200 and reply.json()["id"] == "1234"
    assert time.monotonic() - start >= 0.4
    assert [e["route"] for e in served.ledger()] == ["orders"]  # it reached faultkit's door

    code, _, _ = served.stop()
    assert code == 0
    assert "orders" not in _remote_proxies(external.control)  # cleaned up on shutdown


def test_unreachable_toxiproxy_url_is_a_one_line_error(tmp_path) -> None:
    code, _out, err = run_proxy(
        tmp_path, "--cassettes", str(SUPPORT_CASSETTES), "--toxiproxy-url", "http://127.0.0.1:9"
    )
    assert code == 2
    assert "127.0.0.1:9" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_the_environment_variable_is_the_default(tmp_path) -> None:
    env = {**os.environ, "TOXIPROXY_URL": "http://127.0.0.1:9"}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "faultkit.doors.proxy",
            "--control-port",
            "0",
            "--cassettes",
            str(SUPPORT_CASSETTES),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=20,
        env=env,
    )
    assert proc.returncode == 2 and "127.0.0.1:9" in proc.stderr
