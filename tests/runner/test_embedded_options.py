"""The embedded default's options and its exit-code rule: the expected matrix, not "all
controlled", decides; a scenario without an expectation must be controlled."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from faultkit.cli import main
from faultkit.runner import bundled

ORDERS_DOWN = """
name: orders-down
description: The orders service answers 503 to every lookup.
rules:
  - match: {route: 'orders*'}
    fault: {type: http_error, status: 503}
"""


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["run", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_one_bundled_app_on_one_scenario(capsys, tmp_path: Path) -> None:
    code, out, err = _run(
        capsys, "--app", "robust", "--scenario", "partial-tool-data", "--report", str(tmp_path)
    )
    report = json.loads((tmp_path / "report.json").read_text())
    assert code == 0, out + err
    assert [(c["target"], c["scenario"], c["verdict"]["kind"]) for c in report["cells"]] == [
        ("robust", "partial-tool-data", "pass")
    ]
    assert report["command"] == "faultkit run --app robust --scenario partial-tool-data"


def test_an_unexpected_uncontrolled_verdict_fails_the_embedded_run(capsys, tmp_path: Path) -> None:
    (tmp_path / "orders-down.yaml").write_text(ORDERS_DOWN)
    assert bundled.expected_verdict("naive", "orders-down") is None
    code, out, _ = _run(
        capsys, "--app", "naive", "--scenarios", str(tmp_path / "orders-down.yaml"), "--no-report"
    )
    assert code == 1
    assert "silent_tool_failure ! want controlled" in out
    assert "1 cell(s) differ from the expected matrix (exit 1)" in out
    assert "--scenarios " + str(tmp_path / "orders-down.yaml") in out  # the repro keeps it


def test_the_robust_app_stays_controlled_on_a_scenario_it_was_not_tuned_for(
    capsys, tmp_path: Path
) -> None:
    (tmp_path / "orders-down.yaml").write_text(ORDERS_DOWN)
    code, out, _ = _run(
        capsys, "--app", "robust", "--scenarios", str(tmp_path / "orders-down.yaml"), "--no-report"
    )
    assert code == 0, out
    assert "controlled_error" in out


def test_an_unknown_bundled_app_is_a_usage_error(capsys) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["run", "--app", "clever"])
    assert exited.value.code == 2
    assert "invalid choice: 'clever'" in capsys.readouterr().err
