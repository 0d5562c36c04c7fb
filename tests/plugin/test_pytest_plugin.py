"""The pytest plugin, driven through pytester: options, markers, failures, summary, recording."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

pytest_plugins = ["pytester"]

ORDER_CASSETTE = """\
interactions:
- request:
    body: ''
    headers: {}
    method: GET
    uri: http://orders.test/orders/1
  response:
    body:
      string: '{"order": 1, "status": "shipped"}'
    headers:
      content-type:
      - application/json
    status:
      code: 200
      message: OK
version: 1
"""

SLOW_SCENARIO = """\
name: slow-orders
seed: 11
rules:
  - name: slow
    match: {route: orders.test}
    fault: {type: latency, latency_ms: 1}
"""

ORDER_TEST = """\
import pytest

def test_order(faultkit):
    response = faultkit.client().get("http://orders.test/orders/1")
    assert response.json()["status"] == "shipped"
    print("FAULTS=" + ",".join(f.type for e in faultkit.ledger for f in e.faults) + ";")
    print("SEED", faultkit.engine.seed, "SCALE", faultkit.engine.timing_scale)
"""


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    """A project with one cassette (pytest-recording layout) for ``test_orders::test_order``."""
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    cassette = pytester.path / "cassettes" / "test_orders" / "test_order.yaml"
    cassette.parent.mkdir(parents=True)
    cassette.write_text(ORDER_CASSETTE)
    (pytester.path / "scenarios").mkdir()
    (pytester.path / "scenarios" / "slow-orders.yaml").write_text(SLOW_SCENARIO)
    return pytester


def _marked_order_test(marker_args: str) -> str:
    """ORDER_TEST under ``@pytest.mark.faultkit(<marker_args>)``."""
    marked = f"\n@pytest.mark.faultkit({marker_args})\ndef test_order"
    return "import pytest\n\n" + ORDER_TEST.replace("\ndef test_order", marked)


# Plugins the inner runs do not need; importing hypothesis again for every run costs seconds.
QUIET = ("-p", "no:cacheprovider", "-p", "no:hypothesispytest", "-p", "no:benchmark")


def _run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    # Like the project's own config: Locust's plugin off (one test turns it on on purpose).
    return pytester.runpytest("-s", *QUIET, "-p", "no:locust", *args)


# -- replay and scenarios ------------------------------------------------------------------------


def test_replays_the_default_cassette_without_a_scenario(project: pytest.Pytester) -> None:
    project.makepyfile(test_orders=ORDER_TEST)
    result = _run(project)
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        [
            "*FAULTS=;*",
            "*faultkit: faults injected*",  # always: a test where nothing was injected says so
            "*test_orders.py::test_order*-*nothing*0*0*no rules*",
            "total: 0 fault(s) injected in 0 test(s)",
        ]
    )


def test_scenario_option_applies_to_every_test_and_prints_the_summary(
    project: pytest.Pytester,
) -> None:
    project.makepyfile(test_orders=ORDER_TEST)
    result = _run(project, "--faultkit-scenario", "slow-orders", "--faultkit-seed", "5")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        [
            "*FAULTS=latency;*",
            "*SEED 5 *",
            "*faultkit: faults injected*",
            "*test*rule*fault*count*seed*",
            "*test_orders.py::test_order*slow*latency*1*5*",
            "total: 1 fault(s) injected in 1 test(s) (latency 1)",
            "seed: --faultkit-seed 5",
        ]
    )


def test_marker_scenario_overrides_the_option(project: pytest.Pytester) -> None:
    project.makepyfile(test_orders=_marked_order_test("scenario=None"))
    result = _run(project, "--faultkit-scenario", "slow-orders")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*FAULTS=;*"])


def test_marker_names_a_bundled_scenario_and_a_cassette(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_limits="""
        import pytest

        CASSETTE = "cassettes/test_orders/test_order.yaml"

        CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}

        @pytest.mark.faultkit(scenario="429-burst", cassette=CASSETTE, route="openai", seed=3)
        def test_rate_limited(faultkit):
            client = faultkit.client()
            url = "http://llm.test/v1/chat/completions"  # openai by its wire format
            statuses = [client.post(url, json=CHAT).status_code for _ in range(3)]
            assert statuses == [429, 429, 429]
            assert faultkit.engine.seed == 3
        """
    )
    result = _run(project)
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*test_rate_limited*rate-limited*http_error*3*3*"])


def test_scenario_path_relative_to_the_test_file(project: pytest.Pytester) -> None:
    project.makepyfile(test_orders=_marked_order_test('scenario="scenarios/slow-orders.yaml"'))
    result = _run(project, "--faultkit-timing-scale", "0")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*FAULTS=latency;*", "*SEED 11 SCALE 0.0*"])


def test_unknown_scenario_lists_the_available_ones(project: pytest.Pytester) -> None:
    project.makepyfile(test_orders=ORDER_TEST)
    result = _run(project, "--faultkit-scenario", "slow-ordrs")
    result.assert_outcomes(errors=1)  # a setup problem, not a test failure
    result.stdout.fnmatch_lines(["*unknown scenario 'slow-ordrs'*available:*slow-orders*"])
    result.stdout.fnmatch_lines(["*429-burst*"])  # the bundled catalogue is listed too
    result.stdout.no_fnmatch_line("*Traceback*")


def test_broken_scenario_file_reports_file_line_and_field(project: pytest.Pytester) -> None:
    (project.path / "scenarios" / "broken.yaml").write_text(
        "name: broken\nrules:\n  - fault: {type: latency, latency_msec: 5}\n"
    )
    project.makepyfile(test_orders=ORDER_TEST)
    result = _run(project, "--faultkit-scenario", "broken")
    result.assert_outcomes(errors=1)  # a setup problem, not a test failure
    result.stdout.fnmatch_lines(["*broken.yaml:3: rules[[]0[]].fault.latency_msec: unknown field*"])


def test_unknown_marker_argument_is_reported(project: pytest.Pytester) -> None:
    project.makepyfile(test_orders=_marked_order_test('scenaro="x"'))
    result = _run(project)
    result.assert_outcomes(errors=1)  # a setup problem, not a test failure
    result.stdout.fnmatch_lines(
        ["*unknown argument scenaro; did you mean 'scenario'? known: scenario, cassette*"]
    )


# -- inline injection ----------------------------------------------------------------------------


def test_inline_inject_fires_and_appears_in_the_summary(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_orders="""
        def test_order(faultkit):
            label = faultkit.inject({"type": "http_error", "status": 503}, name="down",
                                    match={"path": "/orders/*"})
            assert label == "down"
            assert faultkit.client().get("http://orders.test/orders/1").status_code == 503
        """
    )
    result = _run(project)
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*test_order*down*http_error*1*0*"])


def test_failing_test_with_faults_prints_a_reproduce_line(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_orders="""
        def test_order(faultkit):
            faultkit.inject({"type": "http_error", "status": 500})
            assert faultkit.client().get("http://orders.test/orders/1").status_code == 200
        """
    )
    result = _run(project, "--faultkit-seed", "77")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["reproduce: pytest 'test_orders.py::test_order' --faultkit-seed 77"]
    )


# -- rules that fire on nothing --------------------------------------------------------------------

# Written for the provider's host; the app's requests go to orders.test.
UNFIRED_SCENARIO = """\
name: openai-down
rules:
  - name: openai-503
    match: {route: openai}
    fault: {type: http_error, status: 503}
"""


def test_a_test_whose_scenario_never_fired_fails_naming_rules_and_routes(
    project: pytest.Pytester,
) -> None:
    (project.path / "scenarios" / "openai-down.yaml").write_text(UNFIRED_SCENARIO)
    project.makepyfile(test_orders=_marked_order_test('scenario="openai-down"'))
    result = _run(project)
    result.assert_outcomes(failed=1)  # its assertions held, but it tested nothing
    result.stdout.fnmatch_lines(
        [
            "*faultkit: no fault was injected in this test, so it tested nothing: no rule matched "
            "any request (openai-503: http_error on route=openai); routes seen: orders.test (json)"
            " x1*",
            "*allow_unfired=True*",
            "*test_orders.py::test_order*-*nothing*0*rules never fired: openai-503*",
            "nothing fired in 1 test(s) that had rules",
        ]
    )


def test_allow_unfired_opts_a_test_out(project: pytest.Pytester) -> None:
    (project.path / "scenarios" / "openai-down.yaml").write_text(UNFIRED_SCENARIO)
    project.makepyfile(test_orders=_marked_order_test('scenario="openai-down", allow_unfired=True'))
    result = _run(project)
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*test_order*-*nothing*0*rules never fired: openai-503*"])


def test_the_scenario_option_does_not_fail_tests_it_does_not_concern(
    project: pytest.Pytester,
) -> None:
    """``--faultkit-scenario`` applies to the whole suite: a test that never calls its routes
    is not failed for it, but the summary still says nothing was injected there."""
    (project.path / "scenarios" / "openai-down.yaml").write_text(UNFIRED_SCENARIO)
    project.makepyfile(test_orders=ORDER_TEST)
    result = _run(project, "--faultkit-scenario", "openai-down")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*test_order*-*nothing*0*rules never fired: openai-503*"])


def test_an_inline_rule_that_never_fired_fails_the_test(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_orders="""
        def test_order(faultkit):
            faultkit.inject({"type": "http_error", "status": 500}, match={"path": "/v2/*"})
            assert faultkit.client().get("http://orders.test/orders/1").status_code == 200
        """
    )
    result = _run(project)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*no rule matched any request (inline-1: http_error on path=/v2/*)*"]
    )


CHECKED_APP = """
import httpx
import pytest

def status(*, http_client_factory=httpx.Client):
    with http_client_factory() as client:
        return client.get("http://orders.test/orders/1").json()["status"]
"""


def test_check_gives_the_not_exercised_verdict_and_fails(project: pytest.Pytester) -> None:
    (project.path / "scenarios" / "openai-down.yaml").write_text(UNFIRED_SCENARIO)
    project.makepyfile(
        test_orders=CHECKED_APP
        + """
CASSETTE = "cassettes/test_orders/test_order.yaml"

@pytest.mark.faultkit(scenario="openai-down")
def test_order(faultkit):
    faultkit.check(status)

@pytest.mark.faultkit(scenario="openai-down", cassette=CASSETTE, allow_unfired=True)
def test_allowed(faultkit):
    verdict = faultkit.check(status)
    print("VERDICT", verdict.kind)
"""
    )
    result = _run(project)
    result.assert_outcomes(failed=1, passed=1)
    result.stdout.fnmatch_lines(
        ["*verdict not_exercised*", "*not_exercised: no rule matched any request (openai-503*"]
    )
    result.stdout.fnmatch_lines(["*VERDICT not_exercised*"])


IDS_CASSETTE = """\
interactions:
- request:
    body: '{"item": 1, "request_id": "rec-1"}'
    headers: {content-type: [application/json]}
    method: POST
    uri: http://orders.test/lookup
  response:
    body: {string: '{"status": "shipped"}'}
    headers: {content-type: [application/json]}
    status: {code: 200, message: OK}
version: 1
"""


def test_marker_matches_bodies_ignoring_fields_like_a_cases_file(project: pytest.Pytester) -> None:
    (project.path / "ids.yaml").write_text(IDS_CASSETTE)
    project.makepyfile(
        test_ids="""
        import pytest

        MARK = dict(cassette="ids.yaml", match_on=["method", "uri", "body"], playback="repeat")

        @pytest.mark.faultkit(**MARK, ignore_body_fields=["request_id"])
        def test_ignored(faultkit):
            client = faultkit.client()
            for rid in ("run-1", "run-2"):  # a fresh id every call; repeat plays it again
                body = {"item": 1, "request_id": rid}
                assert client.post("http://orders.test/lookup", json=body).status_code == 200

        @pytest.mark.faultkit(**MARK)
        def test_compared(faultkit):
            from faultkit.errors import UnmatchedRequest
            with pytest.raises(UnmatchedRequest):
                faultkit.client().post(
                    "http://orders.test/lookup", json={"item": 1, "request_id": "run-1"}
                )
        """
    )
    result = _run(project)
    result.assert_outcomes(passed=1, failed=1)  # the unmatched request fails test_compared
    result.stdout.fnmatch_lines(["*test_compared*1 request(s) had no recording*"])


# -- unmatched requests --------------------------------------------------------------------------


def test_unmatched_request_fails_the_test_even_when_swallowed(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_orders="""
        def test_order(faultkit):
            try:
                faultkit.client().get("http://orders.test/orders/2")
            except Exception:
                pass  # a careless SUT swallows the error
        """
    )
    result = _run(project)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*1 request(s) had no recording*",
            "*no recording matches GET http://orders.test/orders/2*",
            "*closest recordings:*",
            "*test_order.yaml#0: GET http://orders.test/orders/1*",
        ]
    )


def test_missing_default_cassette_says_how_to_record_it(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_other="""
        import pytest
        from faultkit.errors import UnmatchedRequest

        def test_nothing_recorded(faultkit):
            with pytest.raises(UnmatchedRequest):
                faultkit.client().get("http://orders.test/orders/1")
        """
    )
    result = _run(project)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*no cassette loaded: expected *test_other*test_nothing_recorded.yaml; "
            "record it with --faultkit-record-mode=once*"
        ]
    )


# -- recording -----------------------------------------------------------------------------------


def _live_test(url: str) -> str:
    return textwrap.dedent(
        f"""
        def test_live(faultkit):
            response = faultkit.client().get("{url}/weather?city=Oslo",
                                             headers={{"authorization": "Bearer sk-SECRET"}})
            assert response.json()["answer"] == 42
        """
    )


def test_record_once_writes_the_cassette_then_replays_it_offline(
    project: pytest.Pytester, live_server: Any
) -> None:
    project.makepyfile(test_rec=_live_test(live_server.url))
    cassette = project.path / "cassettes" / "test_rec" / "test_live.yaml"

    _run(project, "--faultkit-record-mode", "once").assert_outcomes(passed=1)
    assert live_server.hits == ["/weather?city=Oslo"]
    text = cassette.read_text()
    assert "/weather?city=Oslo" in text and "42" in text
    assert "sk-SECRET" not in text and "SECRET-COOKIE" not in text  # scrubbed on save

    live_server.stop()
    _run(project).assert_outcomes(passed=1)  # replay: the server is gone
    _run(project, "--faultkit-record-mode", "once").assert_outcomes(passed=1)  # exists: replays
    assert live_server.hits == ["/weather?city=Oslo"]


def test_replay_only_never_reaches_the_server(project: pytest.Pytester, live_server: Any) -> None:
    project.makepyfile(test_rec=_live_test(live_server.url))
    result = _run(project)
    result.assert_outcomes(failed=1)
    assert live_server.hits == []
    assert not (project.path / "cassettes" / "test_rec" / "test_live.yaml").exists()


def test_record_all_rerecords_an_existing_cassette(
    project: pytest.Pytester, live_server: Any
) -> None:
    project.makepyfile(test_rec=_live_test(live_server.url))
    _run(project, "--faultkit-record-mode", "all").assert_outcomes(passed=1)
    _run(project, "--faultkit-record-mode", "all").assert_outcomes(passed=1)
    assert len(live_server.hits) == 2
    cassette = project.path / "cassettes" / "test_rec" / "test_live.yaml"
    assert cassette.read_text().count("- request:") == 1  # replaced, not appended


def test_cassette_dir_option_moves_the_default_layout(
    project: pytest.Pytester, live_server: Any
) -> None:
    project.makepyfile(test_rec=_live_test(live_server.url))
    result = _run(project, "--faultkit-record-mode", "once", "--faultkit-cassette-dir", "recorded")
    result.assert_outcomes(passed=1)
    assert (project.path / "recorded" / "test_rec" / "test_live.yaml").is_file()


# -- coexistence ---------------------------------------------------------------------------------


def _locust_plugin_installed() -> bool:
    from importlib.metadata import entry_points

    return any(e.name == "locust" for e in entry_points(group="pytest11"))


def test_coexists_with_a_plugin_that_owns_host_and_session(project: pytest.Pytester) -> None:
    """Locust's pytest plugin adds ``--host`` and a ``session`` fixture; faultkit must not.

    With Locust installed its real plugin is loaded next to faultkit's (it imports Locust,
    and so gevent's patching, only when its fixtures are used); otherwise a stand-in does it.
    """
    stand_in = (
        ""
        if _locust_plugin_installed()
        else ("def pytest_addoption(parser):\n    parser.addoption('--host', default=None)\n\n")
    )
    project.makeconftest(
        "import pytest\n\n" + stand_in + "@pytest.fixture\n"
        "def session():\n"
        "    return 'locust-session'\n"
    )
    project.makepyfile(
        test_orders=ORDER_TEST.replace(
            "(faultkit):", "(faultkit, session):\n    assert session == 'locust-session'"
        )
    )
    result = project.runpytest("-s", *QUIET, "--host", "http://example.test")
    result.assert_outcomes(passed=1)


def test_help_lists_the_faultkit_options(project: pytest.Pytester) -> None:
    result = project.runpytest("--help", *QUIET)
    for option in (
        "seed",
        "scenario",
        "record-mode",
        "cassette-dir",
        "scenario-dir",
        "timing-scale",
    ):
        result.stdout.fnmatch_lines([f"*--faultkit-{option}*"])


def test_default_cassette_path_follows_pytest_recording(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_paths="""
        import pytest

        class TestK:
            @pytest.mark.parametrize("x", ["a/b"])
            def test_m(self, faultkit, x):
                print("DEFAULT", faultkit.default_cassette)
        """
    )
    result = _run(project)
    result.assert_outcomes(passed=1)
    expected = Path("cassettes") / "test_paths" / "TestK.test_m[[]a-b[]].yaml"
    result.stdout.fnmatch_lines([f"*DEFAULT *{expected}"])
