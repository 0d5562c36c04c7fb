"""Every bad option value or file: one located line on stderr, exit 2, no hang, nothing bound.

Against the real ``faultkit proxy`` and ``faultkit scenarios validate`` processes."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from proxy_process import SUPPORT_CASSETTES, run_proxy


def alias_bomb(levels: int = 9, top: str = "name: bomb\nrules:") -> str:
    """Nine levels of nine aliases: ~400 bytes that expand to 9**9 (387 million) nodes."""
    lines = ["l0: &l0 [x, x, x, x, x, x, x, x, x]"]
    for i in range(1, levels):
        lines.append(f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]")
    return "\n".join(lines) + f"\n{top} [*l{levels - 1}]\n"


BAD_SCENARIOS = {
    "bomb.yaml": (alias_bomb(), ":1: aliases expand"),
    "self.yaml": ("name: loop\nrules: &r [*r]\n", ":2: an alias refers to its own anchor"),
    "dup.yaml": (
        "name: dup\nrules:\n  - fault: {type: latency, latency_ms: 5}\nname: other\n",
        ":4: duplicate key 'name' (first at line 1)",
    ),
    "dup-nested.yaml": (
        "name: d\nrules:\n  - fault: {type: latency, latency_ms: 5, latency_ms: 9}\n",
        ":3: duplicate key 'latency_ms'",
    ),
    "deep.yaml": (
        "name: deep\nrules: " + "[" * 20000 + "]" * 20000 + "\n",
        ":1: nested too deeply",
    ),
    "huge.yaml": (
        "name: huge\ndescription: " + "x" * (1024 * 1024 + 1) + "\n",
        ":1: document is 1,048,602 bytes",
    ),
}


def one_line(code: int, err: str) -> str:
    assert code == 2, err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


@pytest.mark.parametrize("name", sorted(BAD_SCENARIOS))
def test_bad_scenario_file_is_refused_by_validate_quickly(tmp_path: Path, name: str) -> None:
    text, expected = BAD_SCENARIOS[name]
    path = tmp_path / name
    path.write_text(text)
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "faultkit.cli", "scenarios", "validate", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert time.monotonic() - started < 30  # the bomb ran 40 s+ and 2.8 GB before
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    assert f"{path}{expected}" in proc.stdout + proc.stderr


@pytest.mark.parametrize("name", ["bomb.yaml", "dup.yaml", "deep.yaml"])
def test_bad_scenario_file_stops_the_proxy_before_binding(tmp_path: Path, name: str) -> None:
    text, expected = BAD_SCENARIOS[name]
    (tmp_path / name).write_text(text)
    code, _, err = run_proxy(
        tmp_path, "--cassettes", str(SUPPORT_CASSETTES), "--scenario", name, wait=60
    )
    assert one_line(code, err).startswith(f"faultkit proxy: {name}{expected}")


def test_alias_bomb_posted_to_the_control_api_is_a_400(proxy) -> None:
    served = proxy("--cassettes", str(SUPPORT_CASSETTES))
    started = time.monotonic()
    reply = httpx.post(
        served.control + "/faultkit/scenario",
        content=alias_bomb(),
        headers={"Content-Type": "application/yaml"},
        timeout=30,
    )
    assert time.monotonic() - started < 10
    assert reply.status_code == 400
    assert "aliases expand" in reply.json()["error"]
    assert httpx.get(served.control + "/faultkit/scenario", timeout=5).json() is None


def test_alias_bomb_cassette_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "bomb.yaml").write_text(alias_bomb(top="version: 1\ninteractions:"))
    code, _, err = run_proxy(tmp_path, "--cassettes", str(tmp_path / "bomb.yaml"), wait=60)
    assert "aliases expand" in one_line(code, err)


def free_port_pair() -> int:
    """A port N with N+1 also free (both checked by binding)."""
    for _ in range(50):
        with socket.socket() as first:
            first.bind(("127.0.0.1", 0))
            port = first.getsockname()[1]
            if port >= 65535:
                continue
            with socket.socket() as second:
                try:
                    second.bind(("127.0.0.1", port + 1))
                except OSError:
                    continue
        return port
    raise AssertionError("no free port pair")


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--port", "70000"], "--port 70000: a port is 1..65535"),
        (["--port", "-3"], "--port -3: a port is 1..65535"),
        (["--control-port", "65536"], "--control-port 65536: a port is 1..65535"),
        (["--port", "65535"], "--port 65535: door anthropic would get port 65536"),
        (["--timing-scale", "-1"], "--timing-scale -1.0: must be a finite number"),
        (["--timing-scale", "nan"], "--timing-scale nan: must be a finite number"),
        (["--timing-scale", "inf"], "--timing-scale inf: must be a finite number"),
        (["--grace-s", "-5"], "--grace-s -5.0: must be a finite number, 0 or more"),
        (["--log-level", "LOUD"], "--log-level LOUD: unknown level (one of: DEBUG"),
        (["--client-timeout-s", "0"], "--client-timeout-s 0.0: must be a finite number, more"),
        (["--client-timeout-s", "nan"], "--client-timeout-s nan: must be a finite number"),
        (["--ready-file", "/no/such/dir/r.json"], "directory /no/such/dir not found"),
        (["--ledger-size", "-1"], "--ledger-size -1: must be 0"),
    ],
)
def test_bad_option_is_one_line_and_exit_2(tmp_path: Path, args: list[str], expected) -> None:
    code, out, err = run_proxy(tmp_path, "--cassettes", str(SUPPORT_CASSETTES), *args)
    line = one_line(code, err)
    assert line.startswith("faultkit proxy: ") and expected in line
    assert "faultkit proxy: mode" not in out  # nothing was served


def test_control_port_on_a_door_port_names_the_door(tmp_path: Path) -> None:
    port = free_port_pair()
    code, _, err = run_proxy(
        tmp_path,
        "--cassettes",
        str(SUPPORT_CASSETTES),
        "--port",
        str(port),
        "--control-port",
        str(port + 1),
    )
    line = one_line(code, err)
    assert f"--control-port {port + 1}: door anthropic of this proxy takes that port" in line
    assert "Toxiproxy" not in line


def test_door_port_in_use_names_the_door(tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        code, _, err = run_proxy(
            tmp_path,
            "--cassettes",
            str(SUPPORT_CASSETTES),
            "--upstream",
            f"orders=http://orders.internal,port={port}",
            "--only",
            "orders",
        )
    assert one_line(code, err) == (
        f"faultkit proxy: door orders: cannot listen on 127.0.0.1:{port}: address already in use"
    )


def test_valid_edge_values_are_accepted(proxy) -> None:
    served = proxy(
        "--cassettes",
        str(SUPPORT_CASSETTES),
        "--timing-scale",
        "0",
        "--grace-s",
        "0",
        "--log-level",
        "debug",
    )
    assert httpx.get(served.control + "/faultkit/doors", timeout=5).status_code == 200


def test_an_unknown_scenario_header_is_looked_up_once() -> None:
    """A wrong x-faultkit-scenario searched the whole catalogue on every request (~80 ms);
    the miss is remembered until the name is loaded or the proxy reset."""
    from faultkit.doors.proxy.headers import ContextKey, HeaderError
    from faultkit.doors.proxy.state import FaultState
    from faultkit.errors import ScenarioError
    from faultkit.scenario import Scenario

    lookups: list[str] = []

    def lookup(name: str) -> Scenario:
        lookups.append(name)
        raise ScenarioError([f"unknown scenario {name!r}"])

    state = FaultState(None, source=None, scenario_lookup=lookup)
    key = ContextKey(scenario="typo")
    for _ in range(50):
        with pytest.raises(HeaderError, match="x-faultkit-scenario: unknown scenario 'typo'"):
            state.engine_for(key)
    assert lookups == ["typo"]
    state.add_scenario(Scenario(name="typo"))  # POST /faultkit/scenario?activate=0
    assert state.engine_for(key).scenario.name == "typo"
    state.reset()
    with pytest.raises(HeaderError):
        state.engine_for(ContextKey(scenario="other"))
    with pytest.raises(HeaderError):
        state.engine_for(ContextKey(scenario="other"))
    assert lookups == ["typo", "other"]


@pytest.mark.parametrize("header", ["/etc/hostname", "../secrets.yaml", "local.yaml", "a\\b"])
def test_the_scenario_header_takes_a_name_never_a_path(header: str) -> None:
    """A request must not make the proxy read a file: the lookup is never reached."""
    from faultkit.doors.proxy.headers import ContextKey, HeaderError
    from faultkit.doors.proxy.state import FaultState

    lookups: list[str] = []
    state = FaultState(None, source=None, scenario_lookup=lambda name: lookups.append(name))
    with pytest.raises(HeaderError, match="is not a scenario name"):
        state.engine_for(ContextKey(scenario=header))
    assert lookups == []
