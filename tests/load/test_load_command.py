"""``faultkit load`` end to end: baseline vs scenario through the proxy, gates, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from stall_server import StallServer

from faultkit.cli import main

DESK = Path(__file__).resolve().parent / "weather_desk"
SLOW_TARGET = """\
name: slow-target
seed: 7
rules:
  - name: slow
    fault: {type: latency, latency_ms: 300}
"""


@pytest.mark.slow  # ~12 s of Locust: the default suite stays under 10 min
def test_target_through_the_proxy_baseline_overhead_and_a_failing_gate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario = tmp_path / "slow.yaml"
    scenario.write_text(SLOW_TARGET)
    with StallServer(freeze_s=0) as server:
        code = main(
            [
                "load",
                f"{server.url}/orders/1234?full=1",
                "--faults-at",
                "front",
                "--scenario",
                str(scenario),
                "--users",
                "4",
                "--rate",
                "40",
                "--spawn-rate",
                "50",
                "--duration",
                "2s",
                "--overhead-duration",
                "2s",
                "--gate",
                "p99<250ms",
                "--gate",
                "error_rate<1%",
                "--report",
                str(tmp_path / "report"),
            ]
        )
        served = server.requests
    out, err = capsys.readouterr()
    assert code == 1
    assert "gate FAIL p99<250ms" in out and "[slow-target]" in out
    assert "gate ok   error_rate<1%" in out
    assert "1 gate(s) failed: p99<250ms" in err
    assert "proxy overhead: p50 " in out

    report = json.loads((tmp_path / "report" / "load.json").read_text())
    assert report["mode"] == "passthrough" and report["route"] == "target"
    assert report["faults_at"] == "front"
    direct, baseline, slow = report["results"]
    assert [r["phase"] for r in report["results"]] == ["direct", "baseline", "slow-target"]
    # Every request reached the target, plus the one readiness probe before the load.
    assert served == direct["requests"] + baseline["requests"] + slow["requests"] + 1
    # The fault, not the proxy, makes the scenario slow; the proxy's own cost is measured.
    assert baseline["corrected"]["p99_ms"] < 250 <= 300 <= slow["corrected"]["p50_ms"]
    assert slow["faults_applied"] == slow["requests"] > 0 and baseline["faults_applied"] == 0
    overhead = report["overhead"]["p50_ms"]
    assert overhead is not None and -5 < overhead < 50
    assert (tmp_path / "report" / "load.html").read_text().count("<svg") == 2
    assert "gevent" not in sys.modules and "locust" not in sys.modules


def test_no_target_replays_the_bundled_cassettes_and_gates_on_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # No target: the proxy replays the bundled support cassette at its openai door.
    # 429-burst answers the first three chat completions with HTTP 429.
    argv = "load --scenario 429-burst --users 2 --rate 10 --duration 2s"
    code = main(
        [*argv.split(), "--gate", "error_rate<1%", "--gate", "p99<1s", "--report", str(tmp_path)]
    )
    out, err = capsys.readouterr()
    assert code == 1
    assert "gate FAIL error_rate<1%" in out and "gate ok   p99<1s" in out
    assert "1 gate(s) failed: error_rate<1%" in err
    report = json.loads((tmp_path / "load.json").read_text())
    assert report["mode"] == "replay" and report["route"] == "openai"
    baseline, burst = report["results"]
    assert baseline["failures"] == 0 and baseline["requests"] > 10
    assert burst["failures"] == burst["faults_applied"] == 3
    assert "the proxy answers from cassettes" in report["overhead"]["note"]


@pytest.mark.slow  # ~5-10 s (a subprocess run); the bounded slow step runs it
def test_json_prints_load_json_alone_on_stdout(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = "load --scenario 429-burst --users 2 --rate 10 --duration 1s --json"
    code = main([*argv.split(), "--gate", "p99<5s", "--report", str(tmp_path)])
    out, err = capsys.readouterr()
    printed = json.loads(out)
    assert code == 0
    assert printed == json.loads((tmp_path / "load.json").read_text())
    assert [r["kind"] for r in printed["results"]] == ["baseline", "scenario"]
    assert "wrote " in err and "gate ok" not in out


@pytest.mark.slow
def test_headline_command_provider_slowdown_breaks_a_p99_gate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # provider-slowdown delays every chat completion 2.5 s +- 0.5 s, then 3 s more before the
    # first token: about 5.5 s, within the drain time given to in-flight requests.
    argv = "load --scenario provider-slowdown --users 4 --rate 8 --duration 2s --drain 8s"
    code = main(
        [
            *argv.split(),
            "--gate",
            "p99<2500ms",
            "--gate",
            "error_rate<1%",
            "--report",
            str(tmp_path),
        ]
    )
    out = capsys.readouterr().out
    assert code == 1 and "gate FAIL p99<2500ms" in out and "gate ok   error_rate<1%" in out
    baseline, scenario = json.loads((tmp_path / "load.json").read_text())["results"]
    assert baseline["corrected"]["p99_ms"] < 2500 <= 5000 <= scenario["corrected"]["p50_ms"]
    assert scenario["counts"]["unfinished"] == 0
    assert scenario["faults_applied"] == scenario["requests"] > 0


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["load", "--gate", "p99 under 2s"], "expected METRIC OP VALUE"),
        (["load", "http://example.com/"], "not a loopback address"),
        (["load", "ftp://127.0.0.1/"], "expected an http:// or https:// URL"),
        (["load", "--scenario", "no-such-scenario"], "unknown scenario"),
        (
            ["load", "http://127.0.0.1:9/", "--no-proxy", "--scenario", "429-burst"],
            "needs the proxy",
        ),
        (["load", "--locustfile", "missing.py"], "locustfile not found"),
        (["load", "--users", "0"], "users"),
        (["load", "--app", "python app.py"], "--app needs the TARGET_URL"),
        (["load", "http://127.0.0.1:9/"], "needs --cassettes DIR"),
        (["load", "http://127.0.0.1:9/", "--cassettes", "nowhere/"], "cassettes not found"),
        (
            ["load", "http://127.0.0.1:9/", "--cassettes", str(DESK / "cassettes")],
            "need the app pointed at the proxy's doors",
        ),
        (["load", "http://127.0.0.1:9/", "--cases", "missing.yaml"], "cases file not found"),
        (
            ["load", "http://127.0.0.1:9/", "--cassettes", str(DESK), "--upstream", "x=ftp://y"],
            "--upstream 'x=ftp://y': url: must be an http:// or https:// URL",
        ),
        (["load", "http://127.0.0.1:9/", "--config", "missing.toml"], "config file not found"),
    ],
)
def test_usage_mistakes_exit_2_with_one_line_and_start_nothing(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["load", "--duration", "soon"], "expected a duration"),
        (["load", "--max-baseline-errors", "lots"], "expected a percentage like 5%"),
        (["load", "--max-baseline-errors", "150%"], "between 0% and 100%"),
        (["load", "--faults-at", "middle"], "invalid choice"),
    ],
)
def test_bad_option_values_are_argparse_errors(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    assert message in capsys.readouterr().err


def test_faultkit_process_never_imports_locust_or_gevent() -> None:
    code = (
        "import sys, faultkit.cli\n"
        "import faultkit.load.runner, faultkit.load.command, faultkit.load.report\n"
        "import faultkit.load.fixture, faultkit.load.locust_process, faultkit.load.plan\n"
        "import faultkit.load.answers, faultkit.load.app_process, faultkit.load.terminal\n"
        "import faultkit.load.proxy_process, faultkit.load.accounting, faultkit.pytest_plugin\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('locust', 'gevent'))\n"
        "assert not bad, bad\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


def test_gates_on_a_result_file_from_a_master_started_by_hand(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from faultkit.load import histogram as hist

    corrected = hist.new_histogram()
    for i in range(1, 101):
        hist.record(corrected, 10.0 * i)  # 10 ms .. 1 s
    encoded = hist.encode(corrected)
    result = tmp_path / "remote.json"
    result.write_text(
        json.dumps(
            {
                "complete": True,
                "first_start": 100.0,
                "last_end": 110.0,
                "counts": {"requests": 100, "failures": 0, "open_loop": 100},
                "raw": encoded,
                "corrected": encoded,
                "workers": {"host-a": {"requests": 60}, "host-b": {"requests": 40}},
            }
        )
    )
    argv = ["load", "--result", str(result), "--gate", "p99<500ms", "--gate", "rps>5"]
    assert main(argv) == 1
    out, err = capsys.readouterr()
    assert "gate FAIL p99<500ms" in out and "gate ok   rps>5" in out
    assert "1 gate(s) failed: p99<500ms" in err
    assert main(["load", "--result", str(result), "--gate", "p99<2s"]) == 0
    assert main(["load", "--result", str(tmp_path / "missing.json")]) == 2
    capsys.readouterr()
    # No load report comes of a result file: --json and --report are refused, not ignored.
    for extra in (["--json"], ["--report", str(tmp_path / "out")]):
        assert main(["load", "--result", str(result), *extra]) == 2
        out, err = capsys.readouterr()
        assert out == "" and err.count("\n") == 1, (out, err)
        assert f"faultkit load: {extra[0]} cannot be used with --result" in err
    assert not (tmp_path / "out").exists()
