"""The proxy process's runtime choices: its event loop (uvloop or asyncio's) and its bounded
ledger. The rest of tests/proxy runs on the default loop, so the other one is checked here."""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
import time

import httpx
import pytest
from proxy_process import SUPPORT_CASSETTES, ProxyFactory, run_proxy

ORDERS = ["--upstream", "orders=http://orders.internal,env=ORDERS_URL", "--only", "orders"]
HAS_UVLOOP = importlib.util.find_spec("uvloop") is not None


@pytest.fixture(scope="module")
def on_asyncio(tmp_path_factory):
    factory = ProxyFactory(tmp_path_factory.mktemp("asyncio"))
    yield factory("--cassettes", str(SUPPORT_CASSETTES), *ORDERS, "--loop", "asyncio")
    factory.close()


def test_the_asyncio_loop_replays_and_says_so(on_asyncio) -> None:
    r = httpx.get(on_asyncio.door("orders") + "/orders/1234", timeout=5)
    assert r.status_code == 200 and r.json()["id"] == "1234"
    assert on_asyncio.info["event_loop"] == "asyncio"
    assert "event loop asyncio" in on_asyncio.out.read_text()


def test_the_asyncio_loop_delays_and_resets(on_asyncio) -> None:
    start = time.monotonic()
    r = httpx.get(
        on_asyncio.door("orders") + "/orders/1234",
        headers={"x-faultkit-fault": "type=latency;latency_ms=200"},
        timeout=5,
    )
    assert r.status_code == 200 and 0.2 <= time.monotonic() - start < 0.5
    with socket.create_connection(("127.0.0.1", on_asyncio.port("orders")), timeout=5) as sock:
        sock.sendall(
            b"GET /orders/1234 HTTP/1.1\r\nHost: x\r\nx-faultkit-fault: type=reset\r\n\r\n"
        )
        with pytest.raises(ConnectionResetError):
            while sock.recv(1024):
                pass


@pytest.mark.skipif(not HAS_UVLOOP, reason="uvloop is not installed")
def test_the_default_loop_is_uvloop_when_installed(proxy) -> None:
    served = proxy("--cassettes", str(SUPPORT_CASSETTES), *ORDERS)
    assert served.info["event_loop"] == "uvloop"
    assert "event loop uvloop" in served.out.read_text()


def test_asking_for_uvloop_without_it_is_one_line_and_exit_2(tmp_path) -> None:
    # A stand-in package that fails to import hides an installed uvloop from the subprocess.
    hidden = tmp_path / "no-uvloop"
    (hidden / "uvloop").mkdir(parents=True)
    (hidden / "uvloop" / "__init__.py").write_text("raise ImportError('hidden by the test')\n")
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(hidden), os.environ.get("PYTHONPATH", "")]),
    }
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "faultkit.doors.proxy",
            "--control-port",
            "0",
            "--cassettes",
            str(SUPPORT_CASSETTES),
            "--loop",
            "uvloop",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=20,
        env=env,
    )
    err = proc.stderr
    assert proc.returncode == 2 and "uvloop is not installed" in err and err.count("\n") == 1


def test_the_ledger_keeps_the_newest_entries_and_counts_the_dropped(proxy) -> None:
    served = proxy("--cassettes", str(SUPPORT_CASSETTES), *ORDERS, "--ledger-size", "2")
    for order in ("1234", "9999", "1234"):
        httpx.get(served.door("orders") + f"/orders/{order}", timeout=5)
    r = httpx.get(f"{served.control}/faultkit/ledger", timeout=5)
    assert [row["id"] for row in r.json()] == [2, 3]
    assert r.headers["x-faultkit-ledger-dropped"] == "1"


def test_a_negative_ledger_size_is_one_line_and_exit_2(tmp_path) -> None:
    code, _, err = run_proxy(tmp_path, "--cassettes", str(SUPPORT_CASSETTES), "--ledger-size", "-1")
    assert code == 2 and "--ledger-size" in err and err.count("\n") == 1
