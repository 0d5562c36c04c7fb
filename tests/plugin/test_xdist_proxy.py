"""A chaos suite under pytest-xdist, its workers sharing one real ``faultkit proxy`` process.

The suite below is written into a temporary project and run by pytest in a subprocess, once
with ``-n 2`` and once without xdist, against the same running proxy: every test's ledger holds
only its own three calls, an ``nth: 2`` rule fires on each test's second call (it would fire
once in all if the workers' counters mixed), the verdicts are the same as without xdist, and
the controller's summary lists the faults injected in every worker's tests, the in-process
``faultkit`` fixture's included.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import yaml
from proxy_process import SUPPORT_CASSETTES, ProxyFactory

from faultkit.doors.proxy.headers import ContextKey
from faultkit.doors.proxy.state import FaultState
from faultkit.pytest_proxy import session_id
from faultkit.scenario import Scenario

pytest_plugins = ["pytester"]

CASSETTE = SUPPORT_CASSETTES / "openai_order_status.yaml"
TESTS = 6  # per test function; both functions run under both workers

SCENARIO = """\
name: second-call-fails
seed: 7
rules:
  - match: {route: openai}
    when: {nth: 2}
    fault: {type: http_error, status: 500}
"""

SUITE = '''\
import json
import os
import time
from pathlib import Path

import httpx
import openai
import pytest

from faultkit.oracle import Contract

HERE = Path(__file__).parent
BODY = json.loads((HERE / "body.json").read_text())
RESULTS = HERE / "results"
CONTRACT = Contract(max_attempts=3, min_backoff_ms=0)


def save(name, data):
    RESULTS.mkdir(exist_ok=True)
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    (RESULTS / f"{name}.json").write_text(json.dumps({"worker": worker, **data}))


def sdk(faultkit_proxy):
    return openai.OpenAI(
        base_url=faultkit_proxy.base_url("openai"),
        api_key="sk-test",
        max_retries=0,
        default_headers=faultkit_proxy.headers,
    )


def careful(client):
    """Asks again once when the provider fails: retried, controlled."""
    for attempt in range(2):
        try:
            return client.chat.completions.create(**BODY).choices[0].message.tool_calls[0].id
        except openai.InternalServerError:
            if attempt:
                raise


async def careful_async(faultkit_proxy):
    """careful, on the async SDK: the same verdict."""
    client = openai.AsyncOpenAI(
        base_url=faultkit_proxy.base_url("openai"),
        api_key="sk-test",
        max_retries=0,
        default_headers=faultkit_proxy.headers,
    )
    for attempt in range(2):
        try:
            answer = await client.chat.completions.create(**BODY)
            return answer.choices[0].message.tool_calls[0].id
        except openai.InternalServerError:
            if attempt:
                raise


def careless(client):
    return client.chat.completions.create(**BODY).choices[0].message.tool_calls[0].id


@pytest.mark.faultkit(scenario="second-call-fails")
@pytest.mark.parametrize("i", range(@TESTS@))
def test_counts_its_own_calls(faultkit_proxy, i):
    client = sdk(faultkit_proxy)
    statuses = []
    for _ in range(3):
        try:
            client.chat.completions.create(**BODY)
            statuses.append(200)
        except openai.InternalServerError:
            statuses.append(500)
        time.sleep(0.02)  # let the other worker's calls interleave with this test's
    ledger = faultkit_proxy.ledger
    save(
        f"calls-{i}",
        {
            "session": faultkit_proxy.session,
            "control": faultkit_proxy.control,
            "statuses": statuses,
            "ledger": [[e.status, [f.type for f in e.faults]] for e in ledger],
        },
    )
    assert statuses == [200, 500, 200]


@pytest.mark.parametrize("i", range(@TESTS@))
@pytest.mark.parametrize("app", [careful, careless, careful_async])
def test_verdict(faultkit_proxy, app, i):
    faultkit_proxy.inject({"type": "http_error", "status": 500}, when={"nth": 1})
    arg = faultkit_proxy if app is careful_async else sdk(faultkit_proxy)
    expect = "crash" if app is careless else "retried"
    verdict = faultkit_proxy.check(app, arg, contract=CONTRACT, expect=expect)
    save(
        f"verdict-{app.__name__}-{i}",
        {"verdicts": [verdict.kind], "calls": len(faultkit_proxy.ledger)},
    )


@pytest.mark.faultkit(cassette=@CASSETTE@)
@pytest.mark.parametrize("i", range(@TESTS@))
def test_in_process(faultkit, i):
    faultkit.inject({"type": "http_error", "status": 503}, when={"nth": 1})
    client = openai.OpenAI(api_key="sk-test", http_client=faultkit.client(), max_retries=1)
    client.chat.completions.create(**BODY)
    save(f"inprocess-{i}", {"statuses": [e.status for e in faultkit.ledger]})
'''


def _suite(root: Path) -> Path:
    project = root / "suite"
    (project / "scenarios").mkdir(parents=True)
    (project / "scenarios" / "second-call-fails.yaml").write_text(SCENARIO)
    (project / "pytest.ini").write_text("[pytest]\n")
    body = yaml.safe_load(CASSETTE.read_text())["interactions"][0]["request"]["body"]
    (project / "body.json").write_text(body)
    (project / "test_chaos.py").write_text(
        SUITE.replace("@TESTS@", str(TESTS)).replace("@CASSETTE@", repr(str(CASSETTE)))
    )
    return project


def _pytest(project: Path, *args: str) -> tuple[subprocess.CompletedProcess, dict]:
    results = project / "results"
    if results.exists():
        for old in results.iterdir():
            old.unlink()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "FAULTKIT_"))}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "-q",
            "-rfE",
            *args,
        ],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    found = {p.stem: json.loads(p.read_text()) for p in results.glob("*.json")}
    return proc, found


@pytest.mark.slow
def test_xdist_workers_share_one_proxy_without_mixing(tmp_path: Path) -> None:
    project = _suite(tmp_path)
    factory = ProxyFactory(tmp_path)
    try:
        proxy = factory("--cassettes", str(SUPPORT_CASSETTES), "--timing-scale", "0")
        parallel, in_parallel = _pytest(project, "-n", "2", "--faultkit-proxy", proxy.control)
        serial, in_serial = _pytest(project, "-p", "no:xdist", "--faultkit-proxy", proxy.control)
    finally:
        factory.close()
    assert parallel.returncode == 0, parallel.stdout + parallel.stderr
    assert serial.returncode == 0, serial.stdout + serial.stderr
    assert len(in_parallel) == 5 * TESTS, parallel.stdout

    # Both workers ran tests, at the same time as each other, on the one proxy.
    workers = {row["worker"] for row in in_parallel.values()}
    assert workers == {"gw0", "gw1"}, workers
    assert {row["worker"] for row in in_serial.values()} == {"main"}

    calls = [row for name, row in in_parallel.items() if name.startswith("calls-")]
    assert len({row["session"] for row in calls}) == TESTS
    for row in calls:
        # nth: 2 counted this test's calls only (mixed counters would fault one call in all),
        # and its ledger holds its own three calls, nothing of another test
        assert row["statuses"] == [200, 500, 200]
        assert row["ledger"] == [[200, []], [500, ["http_error"]], [200, []]]
    for i in range(TESTS):
        assert in_parallel[f"verdict-careful-{i}"] == {
            **in_parallel[f"verdict-careful-{i}"],
            "verdicts": ["retried"],
            "calls": 2,
        }
        assert in_parallel[f"verdict-careful_async-{i}"]["verdicts"] == ["retried"]
        assert in_parallel[f"verdict-careless-{i}"]["verdicts"] == ["crash"]
        assert in_parallel[f"verdict-careless-{i}"]["calls"] == 1
        assert in_parallel[f"inprocess-{i}"]["statuses"] == [503, 200]
    # The same suite without xdist gives the same results, test by test.
    strip = {"worker", "session"}
    assert {k: {f: x for f, x in v.items() if f not in strip} for k, v in in_parallel.items()} == {
        k: {f: x for f, x in v.items() if f not in strip} for k, v in in_serial.items()
    }

    # The controller's summary has the in-process tests of every worker (the faultkit_proxy
    # tests' faults are in the proxy's ledger, not this process's).
    summary = parallel.stdout.split("faultkit: faults injected", 1)[1]
    assert f"total: {TESTS} fault(s) injected in {TESTS} test(s) (http_error {TESTS})" in summary
    assert all(f"test_in_process[{i}]" in summary for i in range(TESTS)), summary


def test_session_ids_are_per_run_worker_and_test() -> None:
    nodeid = "tests/test_chat.py::test_answer[ünïcode case 1]"
    ids = {
        session_id("run-a-0123456789", "gw0", nodeid),
        session_id("run-a-0123456789", "gw1", nodeid),
        session_id("run-b-0123456789", "gw0", nodeid),
        session_id("run-a-0123456789", "gw0", nodeid + "x"),
    }
    assert len(ids) == 4
    for value in ids:
        assert value.isascii() and " " not in value and len(value) < 80, value


def test_a_scenario_sent_again_unchanged_keeps_its_contexts() -> None:
    """Every worker registers the scenario its tests use: the second, identical, registration
    must not reset the counters of tests already running under it; a changed one does."""
    scenario = Scenario.from_yaml(SCENARIO, "<test>")
    state = FaultState(None, source=None)
    state.add_scenario(scenario)
    key = ContextKey(scenario=scenario.name, session="gw0-test")
    engine = state.engine_for(key)
    state.add_scenario(Scenario.from_yaml(SCENARIO, "<test>"))
    assert state.engine_for(key) is engine
    state.add_scenario(scenario.model_copy(update={"seed": 8}))
    assert state.engine_for(key) is not engine


def test_the_fixture_without_a_proxy_says_how_to_start_one(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_it(faultkit_proxy):\n    pass\n")
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*faultkit_proxy needs a running proxy*--faultkit-proxy*"])
    assert "Traceback" not in result.stdout.str()


@pytest.mark.slow
def test_the_plugin_starts_one_proxy_for_all_workers(tmp_path: Path) -> None:
    """--faultkit-proxy-cassettes: the controller starts one proxy, every worker uses it, and
    it is stopped at the end of the run."""
    project = _suite(tmp_path)
    # one argument with "=": a path as an argument of its own would move pytest's rootdir
    run, found = _pytest(project, "-n", "2", f"--faultkit-proxy-cassettes={SUPPORT_CASSETTES}")
    assert run.returncode == 0, run.stdout + run.stderr
    calls = [row for name, row in found.items() if name.startswith("calls-")]
    assert len(calls) == TESTS
    assert {row["worker"] for row in calls} == {"gw0", "gw1"}
    (control,) = {row["control"] for row in calls}
    assert all(row["ledger"] == [[200, []], [500, ["http_error"]], [200, []]] for row in calls)
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{control}/faultkit/doors", timeout=5)


def test_a_missing_cassette_directory_is_one_line(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_it(faultkit_proxy):\n    pass\n")
    result = pytester.runpytest("-p", "no:cacheprovider", "--faultkit-proxy-cassettes=nowhere")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--faultkit-proxy-cassettes: not found: *nowhere*"])
    assert "Traceback" not in result.stderr.str() + result.stdout.str()
