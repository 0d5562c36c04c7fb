"""pytest-recording users: ``@pytest.mark.vcr`` tests replay their cassettes under faultkit.

Driven through pytester with the real pytest-recording plugin loaded (it registers itself by
entry point; each inner test asserts it is there) and, where the behaviour must not depend on
it, with it switched off (``-p no:recording``). vcrpy really patches httpx in these runs.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tests.plugin.conftest import LiveServer

pytest_plugins = ["pytester"]

QUIET = ("-p", "no:cacheprovider", "-p", "no:hypothesispytest", "-p", "no:benchmark")
WITH_RECORDING: tuple[str, ...] = ()
WITHOUT_RECORDING = ("-p", "no:recording")


def cassette(*uris: str) -> str:
    """A vcrpy cassette answering GET on each uri with ``{"uri": ...}``."""
    parts = ["interactions:"]
    for uri in uris:
        parts.append(
            textwrap.dedent(
                f"""\
                - request:
                    body: ''
                    headers: {{}}
                    method: GET
                    uri: {uri}
                  response:
                    body:
                      string: '{{"uri": "{uri}"}}'
                    headers:
                      content-type:
                      - application/json
                    status:
                      code: 200
                      message: OK"""
            )
        )
    parts.append("version: 1\n")
    return "\n".join(parts)


def _run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest("-s", *QUIET, "-p", "no:locust", *args)


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


RECORDING_CHECK = """
def _recording_loaded(request):
    return request.config.pluginmanager.has_plugin("recording")
"""


@pytest.mark.parametrize("plugin", [WITH_RECORDING, WITHOUT_RECORDING], ids=["with", "without"])
def test_vcr_marked_test_replays_the_default_cassette(
    pytester: pytest.Pytester, plugin: tuple[str, ...]
) -> None:
    _write(
        pytester.path / "cassettes" / "test_orders" / "test_order.yaml",
        cassette("http://orders.test/orders/1"),
    )
    pytester.makepyfile(
        test_orders=RECORDING_CHECK
        + """
import pytest

@pytest.mark.vcr
def test_order(faultkit, request):
    print("RECORDING", _recording_loaded(request))
    faultkit.inject({"type": "latency", "latency_ms": 1})
    reply = faultkit.client().get("http://orders.test/orders/1")
    assert reply.json() == {"uri": "http://orders.test/orders/1"}
    assert [f.type for e in faultkit.ledger for f in e.faults] == ["latency"]
"""
    )
    result = _run(pytester, "--strict-markers", *plugin)
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines([f"*RECORDING {not plugin}*"])


@pytest.mark.parametrize("plugin", [WITH_RECORDING, WITHOUT_RECORDING], ids=["with", "without"])
def test_module_vcr_cassette_dir_is_where_the_cassettes_are(
    pytester: pytest.Pytester, plugin: tuple[str, ...]
) -> None:
    recorded = pytester.path / "recorded"
    _write(recorded / "test_order.yaml", cassette("http://orders.test/orders/1"))
    _write(recorded / "shared.yaml", cassette("http://orders.test/orders/2"))
    pytester.makepyfile(
        test_orders="""
import os
import pytest

@pytest.fixture(scope="module")
def vcr_cassette_dir():
    return os.path.join(os.path.dirname(__file__), "recorded")

@pytest.mark.vcr("shared.yaml")
def test_order(faultkit):
    client = faultkit.client()
    assert client.get("http://orders.test/orders/1").json()["uri"].endswith("/1")
    assert client.get("http://orders.test/orders/2").json()["uri"].endswith("/2")
    print("DEFAULT", faultkit.default_cassette)
    print("LOADED", sorted(p.name for p in faultkit.cassettes))
"""
    )
    result = _run(pytester, *plugin)
    result.assert_outcomes(passed=1)
    out = result.stdout.str()
    assert f"DEFAULT {recorded / 'test_order.yaml'}" in out
    assert "LOADED ['shared.yaml', 'test_order.yaml']" in out


def test_default_cassette_marker_and_vcr_match_on(pytester: pytest.Pytester) -> None:
    _write(
        pytester.path / "cassettes" / "test_orders" / "orders.yaml",
        cassette("http://orders.test/orders?page=1"),
    )
    pytester.makepyfile(
        test_orders="""
import pytest

@pytest.mark.default_cassette("orders")
@pytest.mark.vcr(match_on=["method", "host"])
def test_any_page(faultkit):
    reply = faultkit.client().get("http://orders.test/orders/7")
    assert reply.json()["uri"].endswith("page=1")
"""
    )
    _run(pytester).assert_outcomes(passed=1)


def test_a_missing_extra_cassette_is_one_line(pytester: pytest.Pytester) -> None:
    _write(
        pytester.path / "cassettes" / "test_orders" / "test_order.yaml",
        cassette("http://orders.test/orders/1"),
    )
    pytester.makepyfile(
        test_orders="""
import pytest

@pytest.mark.vcr("shraed.yaml")
def test_order(faultkit):
    faultkit.client().get("http://orders.test/orders/1")
"""
    )
    result = _run(pytester)
    result.assert_outcomes(errors=1)
    missing = pytester.path / "cassettes" / "test_orders" / "shraed.yaml"
    result.stdout.fnmatch_lines([f"*faultkit: cassette not found: {missing}*"])
    result.stdout.no_fnmatch_line("*Traceback*")


VCR_AND_FAULTKIT = """
import httpx
import pytest

@pytest.mark.vcr
def test_order(faultkit):
    faultkit.inject({"type": "http_error", "status": 503}, when={"nth": 1})
    ours = faultkit.client().get("http://orders.test/orders/1")
    theirs = httpx.Client().get("http://orders.test/orders/1")  # vcrpy's, not faultkit's
    assert (ours.status_code, theirs.status_code) == (503, 200)
    assert len(faultkit.ledger) == 1
"""


def test_each_request_has_one_handler_and_vcrpy_answered_requests_are_named(
    pytester: pytest.Pytester,
) -> None:
    _write(
        pytester.path / "cassettes" / "test_orders" / "test_order.yaml",
        cassette("http://orders.test/orders/1"),
    )
    pytester.makepyfile(test_orders=VCR_AND_FAULTKIT)
    result = _run(pytester)
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        [
            "*faultkit: 1 request(s) bypassed faultkit and went to vcrpy*",
            "*GET http://orders.test/orders/1 (played by vcrpy)*",
        ]
    )
    blocked = _run(pytester, "--faultkit-block-network")
    blocked.assert_outcomes(failed=1)
    blocked.stdout.fnmatch_lines(["*GET http://orders.test/orders/1 (played by vcrpy)*"])


def test_faultkit_records_underneath_vcrpy(
    pytester: pytest.Pytester, live_server: LiveServer
) -> None:
    """vcrpy (pytest-recording's default record mode "none") would refuse faultkit's forwarded
    request; faultkit reaches the server itself, records once, and replays next run."""
    pytester.makepyfile(
        test_orders=f"""
import pytest

@pytest.mark.vcr
def test_order(faultkit):
    reply = faultkit.client().get("{live_server.url}/orders/1")
    assert reply.json()["answer"] == 42
"""
    )
    first = _run(pytester, "--faultkit-record-mode=once")
    first.assert_outcomes(passed=1)
    assert live_server.hits == ["/orders/1"]
    saved = pytester.path / "cassettes" / "test_orders" / "test_order.yaml"
    assert "/orders/1" in saved.read_text()
    assert "SECRET-COOKIE" not in saved.read_text()
    live_server.stop()
    again = _run(pytester)
    again.assert_outcomes(passed=1)
    assert live_server.hits == ["/orders/1"]
