"""The ``faultkit_load`` fixture, registered by faultkit's plugin: a bounded load step, gates
asserted, the same options as ``faultkit load``."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from ports import free_ports
from stall_server import StallServer

from faultkit.load.fixture import LoadStep

DESK = Path(__file__).resolve().parent / "weather_desk"


def test_load_step_reports_and_a_broken_gate_fails_the_test(faultkit_load: LoadStep) -> None:
    with StallServer(freeze_s=0) as server:
        report = faultkit_load(
            server.url,
            proxy=False,
            users=2,
            rate=20,
            duration_s=2.0,
            gates=["error_rate<1%", "p99<1us"],
            check=False,
        )
    (result,) = report.results
    assert result.requests == pytest.approx(40, rel=0.25)
    assert [o.gate.text for o in report.failed_gates] == ["p99<1us"]
    with pytest.raises(pytest.fail.Exception, match=r"gate FAIL p99<1us .*\[direct\]"):
        faultkit_load.check(report)


@pytest.mark.slow  # ~5-10 s (a subprocess run); the bounded slow step runs it
def test_load_step_starts_the_app_with_its_upstreams_on_the_proxy(
    faultkit_load: LoadStep, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(DESK.parent))  # the contract's models
    port = free_ports()
    report = faultkit_load(
        f"http://127.0.0.1:{port}/ask",
        app=f"{sys.executable} {DESK / 'app.py'} {port}",
        cassettes=[DESK / "cassettes"],
        config=DESK / "faultkit.toml",
        cases=DESK / "cases.yaml",
        users=2,
        rate=10,
        duration_s=2.0,
        gates=["p99<2s", "uncontrolled<0.1%", "error_rate<1%"],
        report_dir=tmp_path,
    )
    (baseline,) = report.results
    assert baseline.kind == "baseline" and baseline.host == f"http://127.0.0.1:{port}"
    assert baseline.answers is not None and baseline.answers.verdicts == {"pass": baseline.requests}
    assert report.doors["weather"].startswith("http://127.0.0.1:")
    assert (tmp_path / "load.json").is_file() and (tmp_path / "app.stderr.log").is_file()


def test_a_load_step_that_cannot_measure_fails_with_one_line(faultkit_load: LoadStep) -> None:
    port = free_ports()
    with pytest.raises(pytest.fail.Exception, match=r"^faultkit load: target .* did not answer"):
        faultkit_load(f"http://127.0.0.1:{port}/", proxy=False, ready_timeout_s=0.5)
