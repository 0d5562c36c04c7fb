"""``faultkit load`` end to end: baseline vs scenario through the proxy, gates, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from faultkit.cli import main


def test_failing_gate_exits_nonzero_and_names_the_gate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # No target: the proxy replays the bundled support cassette at its openai door.
    # provider-slowdown delays every chat completion 2.5 s +- 0.5 s, then 3 s more before the
    # first token: about 5.5 s, all within the drain time given to in-flight requests.
    code = main(
        [
            "load",
            "--scenario",
            "provider-slowdown",
            "--users",
            "4",
            "--rate",
            "8",
            "--spawn-rate",
            "50",
            "--duration",
            "2s",
            "--drain",
            "8s",
            "--gate",
            "p99<1000ms",
            "--gate",
            "error_rate<1%",
            "--report",
            str(tmp_path),
        ]
    )
    out, err = capsys.readouterr()
    assert code == 1
    assert "gate FAIL p99<1000ms" in out and "[provider-slowdown]" in out
    assert "gate ok   error_rate<1%" in out
    assert "1 gate(s) failed: p99<1000ms" in err
    assert "[baseline]" in out or "baseline" in out  # progress and table show the baseline

    report = json.loads((tmp_path / "load.json").read_text())
    baseline, scenario = report["results"]
    assert (baseline["phase"], scenario["phase"]) == ("baseline", "provider-slowdown")
    assert report["mode"] == "replay" and report["route"] == "openai"
    # The baseline holds the gate the scenario breaks: the faults, not faultkit, are slow.
    assert baseline["corrected"]["p99_ms"] < 1000 <= 2000 <= scenario["corrected"]["p99_ms"]
    assert baseline["faults_applied"] == 0
    # Every request the proxy delayed came back and was measured.
    assert scenario["counts"]["unfinished"] == 0
    assert scenario["faults_applied"] == scenario["requests"] > 0
    assert baseline["failures"] == scenario["failures"] == 0
    assert (tmp_path / "load.html").read_text().count("<svg") == 2
    assert "gevent" not in sys.modules and "locust" not in sys.modules


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
    ],
)
def test_usage_mistakes_exit_2_with_one_line_and_start_nothing(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_bad_duration_is_an_argparse_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["load", "--duration", "soon"])
    assert info.value.code == 2
    assert "expected a duration" in capsys.readouterr().err


def test_faultkit_process_never_imports_locust_or_gevent() -> None:
    code = (
        "import sys, faultkit.cli\n"
        "import faultkit.load.runner, faultkit.load.command, faultkit.load.report\n"
        "import faultkit.load.fixture, faultkit.load.locust_process\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('locust', 'gevent'))\n"
        "assert not bad, bad\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
