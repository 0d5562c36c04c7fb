"""``--faultkit-block-network``: a client built without faultkit fails its test, named.

Real parts: the official openai SDK (sync and async), httpx over real sockets to a real
loopback server (``live_server``), asyncio through pytest-asyncio; the inner runs go through
pytester in this process, so the patched socket functions are the ones every client uses.
"""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest

from tests.plugin.conftest import LiveServer

pytest_plugins = ["pytester"]

REPO = Path(__file__).resolve().parents[2]
CASSETTE = REPO / "cassettes" / "support" / "openai_order_status.yaml"
QUIET = ("-p", "no:cacheprovider", "-p", "no:hypothesispytest", "-p", "no:benchmark")

HEADER = f"""
import httpx
import openai
import pytest

CASSETTE = {str(CASSETTE)!r}
CHAT = dict(model="gpt-4o-mini", messages=[{{"role": "user", "content": "Where is order 1234?"}}])
"""


@pytest.fixture
def app(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    pytester.makeini(
        "[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n"
    )
    for name in ("OPENAI_BASE_URL", "ANTHROPIC_BASE_URL", "OPENAI_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    return pytester


def _line(pytester: pytest.Pytester, text: str) -> int:
    """The line of test_app.py holding ``text`` (the guard names the caller's line)."""
    lines = (pytester.path / "test_app.py").read_text().splitlines()
    return next(i for i, line in enumerate(lines, 1) if text in line)


def _run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest(*QUIET, "-p", "no:locust", "--faultkit-block-network", *args)


def test_an_sdk_built_by_the_app_fails_naming_it_and_one_built_by_faultkit_passes(
    app: pytest.Pytester,
) -> None:
    app.makepyfile(
        test_app=HEADER
        + """
def ask(client):
    return client.chat.completions.create(**CHAT)


@pytest.mark.faultkit(cassette=CASSETTE)
def test_built_by_faultkit(faultkit):
    client = openai.OpenAI(api_key="test", http_client=faultkit.client(), max_retries=0)
    assert ask(client).choices[0].message.tool_calls[0].function.name == "get_order"


@pytest.mark.faultkit(cassette=CASSETTE)
def test_built_by_the_app(faultkit):
    client = openai.OpenAI(api_key="test", max_retries=0)
    try:
        ask(client)
    except openai.APIConnectionError:
        pass  # an app that swallows the error: the guard still fails the test
"""
    )
    started = (socket.socket.connect, socket.create_connection, socket.getaddrinfo)
    result = _run(app)
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*_ test_built_by_the_app _*",
            "faultkit: 1 connection(s) bypassed faultkit (--faultkit-block-network)*",
            "  api.openai.com:443 by openai -> httpx2 -> httpcore2, called from "
            f"test_app.py:{_line(app, 'return client.chat')} in ask",
            "give the SDK faultkit's client*",
        ]
    )
    assert (socket.socket.connect, socket.create_connection, socket.getaddrinfo) == started


def test_an_async_sdk_is_named_at_the_awaiting_line(app: pytest.Pytester) -> None:
    app.makepyfile(
        test_app=HEADER
        + """
@pytest.mark.faultkit(cassette=CASSETTE)
async def test_async_app(faultkit):
    client = openai.AsyncOpenAI(api_key="test", max_retries=0)
    with pytest.raises(openai.APIConnectionError):
        await client.chat.completions.create(**CHAT)


@pytest.mark.faultkit(cassette=CASSETTE)
async def test_async_faultkit(faultkit):
    client = openai.AsyncOpenAI(api_key="test", http_client=faultkit.async_client())
    reply = await client.chat.completions.create(**CHAT)
    assert reply.choices[0].message.tool_calls
"""
    )
    result = _run(app)
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "  api.openai.com:443 by openai -> httpx2 -> httpcore2, called from "
            f"test_app.py:{_line(app, 'await client.chat')} in test_async_app",
        ]
    )
    assert asyncio.base_events.BaseEventLoop.getaddrinfo.__module__ == "asyncio.base_events"


LOOPBACK = """
def test_plain_test_is_not_guarded(server_url):
    assert httpx.get(server_url + "/free").status_code == 200


@pytest.mark.faultkit(allow_unfired=True)
def test_sync_loopback(faultkit, server_url):
    with pytest.raises(httpx.ConnectError):
        httpx.get(server_url + "/sync")


@pytest.mark.faultkit(allow_unfired=True)
async def test_async_loopback(faultkit, server_url):
    async with httpx.AsyncClient() as client:
        with pytest.raises(httpx.ConnectError):
            await client.get(server_url + "/async")
"""


def _loopback_app(app: pytest.Pytester, url: str) -> None:
    fixture = f"""

@pytest.fixture
def server_url():
    return {url!r}
"""
    app.makepyfile(test_app=HEADER + fixture + LOOPBACK)


def test_loopback_servers_that_are_not_faultkit_fail_sync_and_async(
    app: pytest.Pytester, live_server: LiveServer
) -> None:
    _loopback_app(app, live_server.url)
    result = _run(app)
    result.assert_outcomes(passed=1, failed=2)
    address = live_server.url.removeprefix("http://")
    result.stdout.fnmatch_lines(
        [
            f"  {address} by httpx -> httpcore, called from "
            f"test_app.py:{_line(app, '/sync')} in test_sync_loopback"
        ]
    )
    # anyio connects in a child task: the caller is found in the task that waits for it.
    result.stdout.fnmatch_lines(
        [
            f"  {address} by httpx -> httpcore, called from "
            f"test_app.py:{_line(app, '/async')} in test_async_loopback"
        ]
    )
    assert live_server.hits == ["/free"]


def test_allowed_hosts_and_doors_named_by_upstream_variables_pass(
    app: pytest.Pytester, live_server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    address = live_server.url.removeprefix("http://")
    # The test expects the connections to go through, so the inner tests expect no error.
    app.makepyfile(
        test_app=HEADER
        + f"""
URL = {live_server.url!r}


@pytest.mark.faultkit(allow_unfired=True)
def test_sync(faultkit):
    assert httpx.get(URL + "/sync").status_code == 200


@pytest.mark.faultkit(allow_unfired=True)
async def test_async(faultkit):
    async with httpx.AsyncClient() as client:
        assert (await client.get(URL + "/async")).status_code == 200
"""
    )
    _run(app, "--faultkit-allow-hosts", address).assert_outcomes(passed=2)
    # A faultkit proxy's door, found where the app finds it: the upstream's variable.
    monkeypatch.setenv("OPENAI_BASE_URL", live_server.url + "/v1")
    _run(app).assert_outcomes(passed=2)
    assert live_server.hits == ["/sync", "/async", "/sync", "/async"]
    monkeypatch.delenv("OPENAI_BASE_URL")
    _run(app, "--faultkit-allow-hosts", "127.0.0.1:1").assert_outcomes(failed=2)


def test_faultkit_recording_reaches_the_network_under_the_guard(
    app: pytest.Pytester, live_server: LiveServer
) -> None:
    app.makepyfile(
        test_app=HEADER
        + f"""
URL = {live_server.url!r}


def test_sync(faultkit):
    assert faultkit.client().get(URL + "/sync").json()["answer"] == 42


async def test_async(faultkit):
    reply = await faultkit.async_client().get(URL + "/async")
    assert reply.json()["answer"] == 42
"""
    )
    _run(app, "--faultkit-record-mode=once").assert_outcomes(passed=2)
    assert sorted(live_server.hits) == ["/async", "/sync"]


def test_a_door_port_declared_in_faultkit_toml_is_allowed(
    app: pytest.Pytester, live_server: LiveServer
) -> None:
    port = int(live_server.url.rsplit(":", 1)[1])
    app.makefile(
        ".toml",
        faultkit=f'[upstreams.weather]\nurl = "https://weather.example"\nport = {port}\n',
    )
    app.makepyfile(
        test_app=HEADER
        + f"""
@pytest.mark.faultkit(allow_unfired=True)
def test_through_the_door(faultkit):
    assert httpx.get({live_server.url!r} + "/door").status_code == 200
"""
    )
    _run(app).assert_outcomes(passed=1)
    assert live_server.hits == ["/door"]


@pytest.mark.parametrize("value", ["127.0.0.1:http", "api.example.com:0", "[::1]8080"])
def test_a_bad_allow_hosts_value_is_one_line(app: pytest.Pytester, value: str) -> None:
    app.makepyfile(test_app="def test_nothing():\n    pass\n")
    result = _run(app, "--faultkit-allow-hosts", value)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert result.stderr.lines[0].startswith(f"ERROR: --faultkit-allow-hosts {value!r}: ")
    assert "Traceback" not in result.stderr.str()


def test_nested_with_pytest_recordings_block_network(app: pytest.Pytester) -> None:
    """Both guards on: faultkit's (installed inside pytest-recording's) names the client, and
    both are undone after the test."""
    app.makepyfile(
        test_app=HEADER
        + """
@pytest.mark.faultkit(allow_unfired=True)
def test_plain_client(faultkit):
    with pytest.raises(httpx.ConnectError):
        httpx.get("https://api.example.com/forecast")
"""
    )
    started = (socket.socket.connect, socket.create_connection, socket.getaddrinfo)
    result = _run(app, "--block-network")
    result.assert_outcomes(failed=1)
    line = _line(app, "forecast")
    result.stdout.fnmatch_lines(
        [
            "  api.example.com:443 by httpx -> httpcore, called from "
            f"test_app.py:{line} in test_plain_client"
        ]
    )
    assert (socket.socket.connect, socket.create_connection, socket.getaddrinfo) == started
