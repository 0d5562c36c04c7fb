"""TCP fronts on stable, declared ports (issue 16, item 5), against the real proxy process and
toxiproxy-python: a door's front takes the port ``faultkit.toml`` or ``--tcp-port`` gives it,
the user's own Toxiproxy proxies declared in ``faultkit.toml`` (``[proxies.NAME]``) or a
``toxiproxy-server -config`` file exist from the start, and the startup lines say which URL
the TCP toxics act on (the front's address and what it forwards to)."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from proxy_process import SUPPORT_CASSETTES, ProxyFactory, ProxyProcess, run_proxy

toxiproxy = pytest.importorskip("toxiproxy")
from toxiproxy.api import APIConsumer  # noqa: E402

ORDERS = ["--upstream", "orders=http://orders.internal,env=ORDERS_URL", "--only", "orders"]


def free_ports(n: int) -> list[int]:
    """``n`` distinct ports free right now (bound together, then released)."""
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


@pytest.fixture
def client_of() -> Iterator:
    """toxiproxy-python pointed at a proxy's control API (it keeps the address class-wide)."""
    saved = APIConsumer.host, APIConsumer.port

    def point(served: ProxyProcess) -> toxiproxy.Toxiproxy:
        control = urlsplit(served.control)
        APIConsumer.host, APIConsumer.port = control.hostname, control.port
        return toxiproxy.Toxiproxy()

    yield point
    APIConsumer.host, APIConsumer.port = saved


@pytest.fixture
def echo_server() -> Iterator[int]:
    """A real TCP echo server on loopback, standing in for a user's database."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(5)
                while data := conn.recv(4096):
                    conn.sendall(data)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join(5)
    listener.close()


def echo_through(port: int, payload: bytes = b"ping") -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        conn.sendall(payload)
        return conn.recv(4096)


def stdout_when_ready(served: ProxyProcess) -> str:
    """The startup lines (written right after the ready file)."""
    deadline = time.monotonic() + 10
    while "control" not in (text := served.out.read_text()) and time.monotonic() < deadline:
        time.sleep(0.02)
    return text


def test_tcp_port_option_fixes_the_fronts_and_the_lines_name_them(
    proxy: ProxyFactory, client_of
) -> None:
    (first,) = free_ports(1)
    served = proxy("--cassettes", str(SUPPORT_CASSETTES), *ORDERS, "--tcp-port", str(first))
    [door] = served.info["doors"]
    assert door["tcp"] == f"127.0.0.1:{first}"
    assert door["tcp_url"] == f"http://127.0.0.1:{first}"
    # toxiproxy-python sees the door as a proxy listening on the declared port.
    orders = client_of(served).get_proxy("orders")
    assert orders.listen == f"127.0.0.1:{first}"
    assert orders.upstream == served.address("orders").removeprefix("http://")
    lines = stdout_when_ready(served)
    assert (
        f"tcp toxics act on http://127.0.0.1:{first}  "
        f"(front 127.0.0.1:{first} -> door {orders.upstream})"
    ) in lines


def test_tcp_port_from_faultkit_toml_keeps_the_builtin_url_and_env(
    proxy: ProxyFactory, client_of
) -> None:
    (port,) = free_ports(1)
    (proxy.tmp_path / "faultkit.toml").write_text(f"[upstreams.openai]\ntcp_port = {port}\n")
    served = proxy("--cassettes", str(SUPPORT_CASSETTES), "--only", "openai")
    [door] = served.info["doors"]
    assert door["upstream"] == "https://api.openai.com/v1"
    assert door["export"].startswith("export OPENAI_BASE_URL=")
    # The URL TCP toxics act on keeps the door's base path: an SDK can point at it as is.
    assert door["tcp_url"] == f"http://127.0.0.1:{port}/v1"
    assert client_of(served).get_proxy("openai").listen == f"127.0.0.1:{port}"
    assert f"tcp toxics act on http://127.0.0.1:{port}/v1" in stdout_when_ready(served)


def test_a_tcp_toxic_acts_on_the_printed_url_not_on_the_door(
    proxy: ProxyFactory, client_of
) -> None:
    (first,) = free_ports(1)
    served = proxy("--cassettes", str(SUPPORT_CASSETTES), *ORDERS, "--tcp-port", str(first))
    [door] = served.info["doors"]
    orders = client_of(served).get_proxy("orders")
    orders.add_toxic(name="tcp_slow", type="latency", attributes={"latency": 400})
    try:
        start = time.monotonic()
        assert httpx.get(door["tcp_url"] + "/orders/1234", timeout=10).status_code == 200
        through_front = time.monotonic() - start
        start = time.monotonic()
        assert httpx.get(door["base_url"] + "/orders/1234", timeout=10).status_code == 200
        direct = time.monotonic() - start
    finally:
        orders.destroy_toxic("tcp_slow")
    assert through_front >= 0.4
    # The door itself is not slowed (generous bound for a busy machine: < the toxic).
    assert direct < through_front


def test_proxies_declared_in_faultkit_toml_exist_from_the_start(
    proxy: ProxyFactory, client_of, echo_server: int
) -> None:
    (listen,) = free_ports(1)
    (proxy.tmp_path / "faultkit.toml").write_text(
        f'[proxies.db]\nlisten = "127.0.0.1:{listen}"\nupstream = "127.0.0.1:{echo_server}"\n'
    )
    served = proxy()  # no cassettes: the plain Toxiproxy server, with the declared proxy
    assert served.info["doors"] == []
    assert served.info["proxies"] == [
        {"name": "db", "listen": f"127.0.0.1:{listen}", "upstream": f"127.0.0.1:{echo_server}"}
    ]
    db = client_of(served).get_proxy("db")
    assert db.listen == f"127.0.0.1:{listen}"
    assert echo_through(listen) == b"ping"
    # Toxics from toxiproxy-python act on it: the proxy disabled is Toxiproxy's "down".
    db.disable()
    with pytest.raises(OSError):
        echo_through(listen)
    db.enable()
    assert echo_through(listen, b"pong") == b"pong"
    assert (
        f"db       tcp 127.0.0.1:{listen}  ->  127.0.0.1:{echo_server}  "
        f"(tcp toxics act on 127.0.0.1:{listen})"
    ) in stdout_when_ready(served)


def test_a_toxiproxy_server_config_file_is_loaded_beside_the_doors(
    proxy: ProxyFactory, client_of, echo_server: int
) -> None:
    listen, front = free_ports(2)
    config = proxy.tmp_path / "toxiproxy.json"
    config.write_text(
        json.dumps(
            [
                {
                    "name": "cache",
                    "listen": f"127.0.0.1:{listen}",
                    "upstream": f"127.0.0.1:{echo_server}",
                }
            ]
        )
    )
    served = proxy(
        "--cassettes",
        str(SUPPORT_CASSETTES),
        *ORDERS,
        "--tcp-port",
        str(front),
        "--toxiproxy-config",
        str(config),
    )
    proxies = client_of(served).proxies()
    assert proxies["cache"].listen == f"127.0.0.1:{listen}"
    assert proxies["orders"].listen == f"127.0.0.1:{front}"
    assert echo_through(listen, b"hello") == b"hello"
    assert [p["name"] for p in served.info["proxies"]] == ["cache"]


@pytest.mark.parametrize(
    ("toml", "args", "message"),
    [
        (
            "[upstreams.openai]\ntcp_prot = 8475\n",
            [],
            "[upstreams.openai] tcp_prot: unknown field (did you mean 'tcp_port'? "
            "known: url, env, port, tcp_port)",
        ),
        (
            '[proxies.db]\nlisten = "127.0.0.1:26379"\nupstrem = "127.0.0.1:6379"\n',
            [],
            "[proxies.db] upstrem: unknown field (did you mean 'upstream'? "
            "known: listen, upstream, enabled)",
        ),
        (
            '[proxies.orders]\nlisten = "127.0.0.1:26379"\nupstream = "127.0.0.1:6379"\n',
            ORDERS,
            "[proxies.orders]: a door of this proxy is the Toxiproxy proxy 'orders'",
        ),
        ("", [*ORDERS, "--port", "28470", "--tcp-port", "28470"], "both want port 28470"),
        ("", ["--tcp-port", "70000"], "--tcp-port 70000: a port is 1..65535"),
        (
            "",
            ["--toxiproxy-config", "missing.json"],
            "--toxiproxy-config missing.json: file not found",
        ),
    ],
)
def test_bad_tcp_declarations_are_one_line_and_exit_2(
    tmp_path: Path, toml: str, args: list[str], message: str
) -> None:
    if toml:
        (tmp_path / "faultkit.toml").write_text(toml)
    code, out, err = run_proxy(tmp_path, "--cassettes", str(SUPPORT_CASSETTES), *args)
    assert code == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1, err
    assert message in err


def test_a_front_port_in_use_names_the_door(tmp_path: Path) -> None:
    holder = socket.create_server(("127.0.0.1", 0))
    try:
        port = holder.getsockname()[1]
        code, out, err = run_proxy(
            tmp_path, "--cassettes", str(SUPPORT_CASSETTES), *ORDERS, "--tcp-port", str(port)
        )
    finally:
        holder.close()
    assert code == 2
    assert out == ""  # nothing announced: no half-started proxy to point a SUT at
    assert err.strip() == (
        f"faultkit proxy: door orders: its TCP front cannot listen: "
        f"listen tcp 127.0.0.1:{port}: bind: address already in use"
    )


def test_on_an_external_toxiproxy_the_declared_ports_and_proxies_are_created_there(
    proxy: ProxyFactory, client_of, echo_server: int
) -> None:
    """With --toxiproxy-url (here a second faultkit proxy, whose API is Toxiproxy's), the
    fronts take their declared ports there and the declared proxies live there too; both are
    deleted when the proxy stops."""
    front, listen = free_ports(2)
    external = proxy()  # a plain Toxiproxy-compatible server
    (proxy.tmp_path / "faultkit.toml").write_text(
        f'[proxies.db]\nlisten = "127.0.0.1:{listen}"\nupstream = "127.0.0.1:{echo_server}"\n'
    )
    served = proxy(
        "--cassettes",
        str(SUPPORT_CASSETTES),
        *ORDERS,
        "--tcp-port",
        str(front),
        "--toxiproxy-url",
        external.control,
    )
    remote = client_of(external).proxies()
    assert remote["orders"].listen == f"127.0.0.1:{front}"
    assert remote["db"].listen == f"127.0.0.1:{listen}"
    assert served.info["proxies"] == [
        {"name": "db", "listen": f"127.0.0.1:{listen}", "upstream": f"127.0.0.1:{echo_server}"}
    ]
    assert echo_through(listen, b"over there") == b"over there"
    assert httpx.get(f"http://127.0.0.1:{front}/orders/1234", timeout=5).status_code == 200
    code, _, _ = served.stop()
    assert code == 0
    assert set(client_of(external).proxies()) == set()
