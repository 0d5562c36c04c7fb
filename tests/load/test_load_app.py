"""``faultkit load --app``: Locust loads a real app while the fault proxy sits between the app and
its upstreams (OpenAI over the official SDK, a weather tool over HTTP), replayed from cassettes.

Every part is real: the weather desk (``weather_desk/app.py``) runs in its own process, the
proxy is ``faultkit proxy``'s process, Locust runs in subprocesses; loopback only, no network.
Margins are generous: the machine is shared, and what is proven is a 300 ms step, not a
millisecond.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from ports import free_ports
from stall_server import StallServer

from faultkit.cli import main
from faultkit.load.app_process import AppProcess, wait_answering
from faultkit.load.locust_process import LocustRun, run_locust
from faultkit.load.proxy_process import ProxyProcess, ProxyShape
from faultkit.load.results import LoadRunError

HERE = Path(__file__).resolve().parent
DESK = HERE / "weather_desk"
LATENCY = str(DESK / "provider-latency.yaml")  # +300 ms on every OpenAI call


def _desk_argv(port: int, *extra: str) -> list[str]:
    """``faultkit load`` of the weather desk, started by faultkit with its upstreams replayed."""
    return [
        "load",
        f"http://127.0.0.1:{port}/ask",
        "--app",
        f"{sys.executable} {DESK / 'app.py'} {port}",
        "--config",
        str(DESK / "faultkit.toml"),
        "--cassettes",
        str(DESK / "cassettes"),
        "--cases",
        str(DESK / "cases.yaml"),
        "--users",
        "4",
        "--rate",
        "20",
        "--spawn-rate",
        "50",
        "--duration",
        "2s",
        "--drain",
        "5s",
        *extra,
    ]


def _report(directory: Path) -> dict:
    return json.loads((directory / "load.json").read_text())


@pytest.mark.slow  # ~12 s of Locust: the default suite stays under 10 min
def test_provider_latency_slows_the_app_and_a_429_burst_is_answered_as_declared(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(HERE))  # the contract's models: weather_desk.app
    port = free_ports()
    argv = _desk_argv(port, "--scenario", LATENCY, "--scenario", "429-burst")
    code = main([*argv, "--gate", "uncontrolled<0.1%", "--report", str(tmp_path)])
    out = capsys.readouterr().out
    print(out)  # shown by pytest when an assertion below fails
    assert code == 0, out
    report = _report(tmp_path)
    assert report["headline"] == "gates: 2 passed, 0 failed, 0 broken"
    assert report["faults_at"] == "upstream" and report["mode"] == "replay"
    assert set(report["doors"]) >= {"openai", "weather"}
    baseline, slow, burst = report["results"]
    assert [r["kind"] for r in report["results"]] == ["baseline", "scenario", "scenario"]
    # Locust loaded the app itself; the fault slowed its OpenAI calls, so its answers.
    assert baseline["host"] == slow["host"] == f"http://127.0.0.1:{port}"
    step = slow["corrected"]["p50_ms"] - baseline["corrected"]["p50_ms"]
    assert 250 < step < 450, step
    injected = {"upstream": "openai", "fault": "latency", "count": slow["requests"]}
    assert slow["injected"] == [injected]
    assert slow["errors"] == {} and baseline["errors"] == {}
    # 429-burst: three OpenAI calls rate-limited; the app (no SDK retries) answers each with
    # its declared 503 error body: failed requests, yet controlled answers.
    assert burst["injected"] == [{"upstream": "openai", "fault": "http_error", "count": 3}]
    assert burst["errors"] == {"HTTP 503": 3}
    answers = burst["answers"]
    assert answers["verdicts"] == {"pass": burst["requests"] - 3, "controlled_error": 3}
    assert answers["uncontrolled"] == 0
    assert "injected: 429-burst: http_error on openai x 3" in out
    assert "gates: 2 passed, 0 failed, 0 broken" in out
    assert (tmp_path / "app.stderr.log").is_file()
    page = (tmp_path / "load.html").read_text()
    assert "gates: 2 passed, 0 failed, 0 broken" in page
    assert "http_error on openai x 3" in page and "HTTP 503 x 3" in page


@pytest.mark.slow
def test_front_side_faults_do_not_reach_the_apps_provider(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The shape the issue started from: the app already runs with its upstreams on a replaying
    # proxy, and the fault proxy is put in front of it. The provider scenario cannot touch the
    # app's OpenAI calls from there: no fault fires, the app's p50 stays where it was.
    work = tmp_path / "work"
    work.mkdir()
    shape = ProxyShape(config=DESK / "faultkit.toml", cassettes=[DESK / "cassettes"])
    port = free_ports()
    with ProxyProcess(shape, workdir=work, lifetime_s=120) as upstreams:
        upstreams.wait_ready()
        app = AppProcess(
            f"{sys.executable} {DESK / 'app.py'} {port}", env=upstreams.app_env(), workdir=work
        )
        try:
            wait_answering(f"http://127.0.0.1:{port}/health", 20, app)
            argv = _desk_argv(port, "--faults-at", "front", "--scenario", LATENCY)
            argv.remove("--app")
            argv.remove(f"{sys.executable} {DESK / 'app.py'} {port}")
            code = main([*argv, "--overhead-duration", "0", "--report", str(tmp_path)])
        finally:
            app.stop()
    out = capsys.readouterr().out
    print(out)
    assert code == 0, out
    baseline, slow = _report(tmp_path)["results"]
    assert slow["faults_applied"] == 0 and slow["injected"] == []
    assert slow["corrected"]["p50_ms"] < baseline["corrected"]["p50_ms"] + 100
    assert "provider-latency: the proxy applied no fault in this run" in out


@pytest.mark.slow  # ~5-10 s (a subprocess run); the bounded slow step runs it
def test_a_drifted_body_returned_as_200_is_counted_uncontrolled(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(HERE))
    monkeypatch.setenv("WEATHER_DESK_DRIFT", "1")  # the app inherits faultkit's environment
    port = free_ports()
    argv = _desk_argv(port, "--gate", "uncontrolled<0.1%", "--gate", "error_rate<1%")
    code = main([*argv, "--report", str(tmp_path)])
    captured = capsys.readouterr()
    print(captured.out, captured.err)
    assert code == 1, captured.out + captured.err
    (baseline,) = _report(tmp_path)["results"]
    # Every answer is HTTP 200, so Locust counts no error; the contract counts them all.
    assert baseline["failures"] == 0 and baseline["requests"] > 20
    answers = baseline["answers"]
    assert answers["verdicts"] == {"invalid_output_leaked": baseline["requests"]}, captured.out
    assert answers["controlled"] == 0
    assert "fails Answer" in answers["examples"]["invalid_output_leaked"]
    assert "gate FAIL uncontrolled<0.1%" in captured.out
    assert "gate ok   error_rate<1%" in captured.out
    assert "1 gate(s) failed: uncontrolled<0.1%" in captured.err


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--no-proxy", "--gate", "p99<1s"], "did not answer within 1s"),
        (["--faults-at", "front", "--gate", "p99<1s"], "did not answer within 1s"),
    ],
)
def test_a_dead_target_exits_3_with_one_line_and_never_passes_a_latency_gate(
    extra: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    port = free_ports()  # nothing listens there
    code = main(["load", f"http://127.0.0.1:{port}/ask", "--ready-timeout", "1s", *extra])
    err = capsys.readouterr().err
    assert code == 3
    assert message in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_an_app_that_dies_at_startup_exits_3_with_its_last_words(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    port = free_ports()
    app = f"{sys.executable} -c \"import sys; sys.exit('no API key configured')\""
    argv = _desk_argv(port, "--report", str(tmp_path))
    argv[argv.index("--app") + 1] = app
    assert main(argv) == 3
    err = capsys.readouterr().err
    assert "the app exited with code 1 before answering" in err
    assert "no API key configured" in err and "Traceback" not in err
    assert "no API key configured" in (tmp_path / "app.stderr.log").read_text()


def test_a_baseline_with_too_many_errors_exits_3(capsys: pytest.CaptureFixture[str]) -> None:
    with StallServer(freeze_s=0, status=500) as server:
        argv = ["load", server.url, "--no-proxy", "--users", "2", "--rate", "10"]
        code = main([*argv, "--duration", "1s", "--gate", "p99<1s"])
    err = capsys.readouterr().err
    assert code == 3
    assert "direct run: 100.0% of" in err and "failed with no fault injected" in err
    assert "HTTP 500 x" in err and "threshold 5%" in err


def test_requests_in_flight_when_the_run_ends_count_as_timeouts(tmp_path: Path) -> None:
    # The server freezes for the last second of a 2 s run and longer than the drain: the
    # arrivals due then are still waiting when the run ends.
    with StallServer(freeze_at_s=1.0, freeze_s=6.0) as server:
        run = LocustRun(
            phase="hung",
            kind="direct",
            host=server.url,
            locustfile=HERE.parents[1] / "loadtests" / "through_proxy.py",
            users=2,
            spawn_rate=50.0,
            duration_s=2.0,
            rate_per_user=10.0,
            drain_s=1.0,
            progress_s=2.0,
        )
        result = run_locust(run, tmp_path)
        sent = server.requests
    hung = result.counts["unfinished"]
    assert hung >= 5  # about 10 (one second at 20/s) on an idle machine
    assert result.errors == {"timeout (in flight at end)": hung}
    assert result.failures == hung and result.requests == sent
    assert result.error_rate == pytest.approx(hung / sent)
    # Each counts with the time it had waited: at least the drain it was given.
    assert result.corrected.max_ms is not None and result.corrected.max_ms > 1000


@pytest.mark.slow  # ~5-10 s (a subprocess run); the bounded slow step runs it
def test_ctrl_c_stops_the_load_and_the_app(tmp_path: Path) -> None:
    port = free_ports()
    argv = _desk_argv(port, "--scenario", LATENCY, "--report", str(tmp_path))
    argv[argv.index("--duration") + 1] = "60s"
    load = subprocess.Popen(
        [sys.executable, "-m", "faultkit.cli", *argv],
        cwd=HERE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_answering(f"http://127.0.0.1:{port}/health", 30)  # the app is up, the load runs
        time.sleep(1.0)
        load.send_signal(signal.SIGINT)
        _, err = load.communicate(timeout=30)
    finally:
        if load.poll() is None:
            load.kill()
    assert load.returncode == 130
    assert "faultkit load: interrupted; load stopped" in err and "Traceback" not in err
    with pytest.raises(LoadRunError, match="did not answer"):
        wait_answering(f"http://127.0.0.1:{port}/health", 0.5)  # the app is gone with it
    assert (tmp_path / "app.stderr.log").is_file()


@pytest.mark.slow
def test_an_app_started_by_hand_is_pointed_at_fixed_door_ports(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Doors take N, N+1, ... in the order openai, anthropic, gemini, then faultkit.toml's
    # weather: the app can be started before faultkit load, from the export lines it prints.
    monkeypatch.syspath_prepend(str(HERE))
    first, port = free_ports(4), free_ports()
    env = {
        "OPENAI_BASE_URL": f"http://127.0.0.1:{first}/v1",
        "WEATHER_URL": f"http://127.0.0.1:{first + 3}/api",
    }
    app = AppProcess(f"{sys.executable} {DESK / 'app.py'} {port}", env=env, workdir=tmp_path)
    try:
        argv = _desk_argv(port, "--proxy-port", str(first), "--scenario", LATENCY)
        del argv[argv.index("--app") : argv.index("--app") + 2]
        code = main([*argv, "--report", str(tmp_path / "report")])
    finally:
        app.stop()
    out = capsys.readouterr().out
    assert code == 0, out
    assert f"  export OPENAI_BASE_URL=http://127.0.0.1:{first}/v1" in out
    assert f"  export WEATHER_URL=http://127.0.0.1:{first + 3}/api" in out
    baseline, slow = _report(tmp_path / "report")["results"]
    assert 250 < slow["corrected"]["p50_ms"] - baseline["corrected"]["p50_ms"] < 450
    assert slow["faults_applied"] == slow["requests"]
