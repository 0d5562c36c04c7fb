"""``faultkit run`` with no scenario written: the set derived from the cases' cassettes fires on
every cell, where the bundled catalogue leaves some cells with nothing to do.

Two apps: the bundled robust support assistant (OpenAI streams, the orders tool), and
``trip_desk``, which faultkit has never seen (an OpenAI-compatible server at 127.0.0.1:8123 and
a weather tool on another host).
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

import pytest

from faultkit.cli import main

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
SUPPORT_CASES = ROOT / "examples" / "support_assistant" / "cases.yaml"
TRIP_CASES = HERE / "trip_desk_cases.yaml"


@pytest.fixture
def fk(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path):
    """``faultkit run ...`` in this process, from the repository root (where the example app
    and trip_desk import from); returns (exit code, report.json data or None, stderr)."""
    monkeypatch.chdir(ROOT)
    monkeypatch.syspath_prepend(str(ROOT))
    monkeypatch.syspath_prepend(str(HERE))

    def run(*argv: str, report: Path | None = None) -> tuple[int, dict[str, Any] | None, str]:
        report = report or tmp_path / "report"
        code = main(["run", *argv, "--report", str(report)])
        _, err = capsys.readouterr()
        path = report / "report.json"
        data = json.loads(path.read_text()) if path.is_file() else None
        return code, data, err

    return run


def applied(cell: dict[str, Any]) -> list[str]:
    return [fault["rule"] for entry in cell["ledger"] for fault in entry["faults"]]


def test_every_scenario_derived_from_the_support_cassettes_fires_on_the_robust_app(fk) -> None:
    code, report, err = fk(
        "examples.support_assistant.robust:answer", "--cases", str(SUPPORT_CASES)
    )
    assert "18 scenarios derived from 3 cassettes" in err
    assert report is not None and len(report["cells"]) == 18
    for cell in report["cells"]:
        assert applied(cell), f"{cell['scenario']}: no fault applied"
        assert cell["verdict"]["kind"] != "not_exercised"
    assert code == 0, [(c["scenario"], c["verdict"]["kind"]) for c in report["cells"]]


def test_a_new_app_leaves_catalogue_cells_unexercised_and_none_of_its_derived_set(fk) -> None:
    code, report, err = fk(
        "trip_desk:answer",
        "--cases",
        str(TRIP_CASES),
        "--scenarios",
        "catalogue",
        "--scenarios",
        "derived",
    )
    assert "13 scenarios from the bundled catalogue; 16 scenarios derived from 1 cassette" in err
    assert report is not None
    derived = {s["name"] for s in report["scenarios"] if s["file"] is None}
    # The derived provider families share the catalogue's names, so they are told apart.
    assert "derived.429-burst" in derived and "tool-timeout.weather.example" in derived
    kinds = {c["scenario"]: c["verdict"]["kind"] for c in report["cells"]}
    unexercised = {name for name, kind in kinds.items() if kind == "not_exercised"}
    assert {"truncated-stream", "mid-stream-stall"} <= unexercised
    assert not unexercised & derived
    for cell in report["cells"]:
        if cell["scenario"] in derived:
            assert applied(cell), f"{cell['scenario']}: no fault applied"
    assert code == 0


def test_the_default_set_is_derived_and_a_repro_command_reruns_the_same_cell(
    fk, tmp_path: Path
) -> None:
    code, report, err = fk(
        "trip_desk:answer", "--cases", str(TRIP_CASES), "--scenario", "tool-error.weather.example"
    )
    assert "16 scenarios derived from 1 cassette" in err
    assert code == 0 and report is not None
    (cell,) = report["cells"]
    argv = shlex.split(cell["repro"])
    assert "--scenarios" not in argv  # derived again from the same cases file
    assert argv[:2] == ["faultkit", "run"]
    again, rerun, _ = fk(*argv[2:], report=tmp_path / "again")
    assert again == code and rerun is not None
    (same,) = rerun["cells"]
    assert (same["scenario"], same["verdict"]["kind"]) == (
        cell["scenario"],
        cell["verdict"]["kind"],
    )
    assert applied(same) == applied(cell) == ["tool-500"]


def test_derived_without_cassettes_is_a_one_line_usage_error(fk, tmp_path: Path) -> None:
    cases = tmp_path / "cases.yaml"
    cases.write_text("cases:\n  - name: lisbon\n    input: {question: hi}\n")
    code, report, err = fk("trip_desk:answer", "--cases", str(cases), "--scenarios", "derived")
    assert code == 2 and report is None
    assert err.strip() == (
        "--scenarios derived: no cassettes to derive from; name them in the cases file "
        "(cassettes:) or with --cassettes"
    )
