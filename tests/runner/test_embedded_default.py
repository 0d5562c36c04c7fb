"""`faultkit run` with no arguments: the bundled catalogue against both bundled apps.

The run happens once per module (about 17 s: the naive app's stalled stream is waited out to the
contract's 15 s deadline) and every test reads its output and report files. The expected
matrix is written out here on purpose, independently of ``faultkit.runner.bundled.EXPECTED``,
so a change in either the apps, the oracle or the catalogue shows up as a diff of this table.
"""

from __future__ import annotations

import contextlib
import io
import json
import shlex
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from faultkit.cli import main

# scenario -> (robust, naive). Robust: every verdict controlled and allowed by its scenario.
EXPECTED = {
    "429-burst": ("fallback", "crash"),
    "529-overload": ("controlled_error", "crash"),
    "connection-reset": ("fallback", "crash"),
    "html-gateway-error": ("fallback", "crash"),
    "malformed-json-output": ("retried", "crash"),
    "mid-stream-stall": ("retried", "hang"),
    "partial-tool-data": ("pass", "unknown_as_known"),
    "provider-slowdown": ("pass", "untraceable"),
    "quota-exhausted": ("controlled_error", "crash"),
    "schema-drift-structured-output": ("controlled_error", "invalid_output_leaked"),
    "tool-call-invalid-arguments": ("retried", "crash"),
    "tool-timeout": ("controlled_error", "silent_tool_failure"),
    "truncated-stream": ("retried", "crash"),
}
CASE = "order-1234"


class Run:
    def __init__(self, code: int, out: str, err: str, report: Path) -> None:
        self.code, self.out, self.err, self.report = code, out, err, report
        self.data = json.loads((report / "report.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def default_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    report = tmp_path_factory.mktemp("default") / "faultkit-report"
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["run", "--report", str(report)])
    return Run(code, out.getvalue(), err.getvalue(), report)


def test_the_matrix_is_exactly_the_expected_one(default_run: Run) -> None:
    got = {}
    for cell in default_run.data["cells"]:
        assert cell["case"] == CASE
        got.setdefault(cell["scenario"], {})[cell["target"]] = cell["verdict"]["kind"]
    assert {s: (row["robust"], row["naive"]) for s, row in got.items()} == EXPECTED


def test_every_robust_verdict_is_controlled_and_allowed(default_run: Run) -> None:
    robust = [c for c in default_run.data["cells"] if c["target"] == "robust"]
    assert len(robust) == len(EXPECTED)
    for cell in robust:
        verdict = cell["verdict"]
        assert verdict["controlled"] and verdict["expected"], verdict
        assert verdict["kind"] in verdict["allowed"]


def test_exit_code_is_zero_when_the_matrix_is_the_expected_one(default_run: Run) -> None:
    assert default_run.code == 0
    assert default_run.data["exit_code"] == 0
    assert "the matrix is the expected one (exit 0)" in default_run.out
    assert "robust: 13/13 controlled" in default_run.out
    assert "naive: 0/13 controlled, 13/13 as expected" in default_run.out


def test_prints_progress_and_the_matrix(default_run: Run) -> None:
    assert "= 26 cell(s)" in default_run.err
    assert default_run.err.count(" ok ") == 26
    rows = {
        line.split()[0]: line.split()[1:]
        for line in default_run.out.splitlines()
        if line.split() and line.split()[0] in EXPECTED
    }
    assert rows["partial-tool-data"] == ["pass", "unknown_as_known", "(expected)"]
    assert rows["mid-stream-stall"] == ["retried", "hang", "(expected)"]
    assert len(rows) == len(EXPECTED)


def test_every_uncontrolled_verdict_prints_a_one_line_repro(default_run: Run) -> None:
    lines = [
        line.split(None, 1) for line in default_run.out.splitlines() if "faultkit run --app" in line
    ]
    assert len(lines) == len(EXPECTED)  # every naive cell is uncontrolled, every robust one not
    for kind, command in lines:
        argv = shlex.split(command)
        scenario = argv[argv.index("--scenario") + 1]
        assert kind == EXPECTED[scenario][1]
        assert argv[:4] == ["faultkit", "run", "--app", "naive"]
        assert argv[argv.index("--case") + 1] == CASE


def test_report_files_are_valid(default_run: Run) -> None:
    report = default_run.report
    assert sorted(p.name for p in report.iterdir()) == ["junit.xml", "report.html", "report.json"]

    data = default_run.data
    assert data["mode"] == "embedded" and data["summary"]["cells"] == 26
    for cell in data["cells"]:
        assert cell["verdict"]["findings"], cell["scenario"]
        assert cell["ledger"], cell["scenario"]
        assert cell["repro"].startswith("faultkit run --app ")

    root = ET.parse(report / "junit.xml").getroot()
    assert root.tag == "testsuites" and root.get("tests") == "26" and root.get("failures") == "0"
    cases = root.findall("./testsuite/testcase")
    names = sorted((c.get("classname"), c.get("name")) for c in cases)
    assert names == sorted(
        (f"faultkit.{app}", f"{scenario}[{CASE}]")
        for app in ("robust", "naive")
        for scenario in EXPECTED
    )
    verdicts = {
        (c.get("classname"), c.get("name")): c.find("./properties/property[@name='verdict']").get(
            "value"
        )
        for c in cases
    }
    assert verdicts[("faultkit.naive", f"tool-timeout[{CASE}]")] == "silent_tool_failure"

    html = (report / "report.html").read_text(encoding="utf-8")
    assert html.startswith("<!doctype html>") and html.rstrip().endswith("</html>")
    assert 'class="fk-table matrix"' in html and 'class="fk-table coverage"' in html
    assert html.count("<svg") == len(EXPECTED)
    matrix = html.split('class="fk-table matrix"', 1)[1].split("</table>", 1)[0]
    for scenario, (robust, naive) in EXPECTED.items():
        row = matrix.split(f">{scenario}</a>", 1)[1].split("</tr>", 1)[0]
        assert f">{robust}</td>" in row and f">{naive} (expected)</td>" in row
    assert "<script" not in html and "http://" not in html.split("<body>", 1)[1].replace(
        "http://orders.internal", ""
    ).replace("http://www.w3.org/2000/svg", "")


@pytest.mark.parametrize("scenario", ["partial-tool-data", "tool-call-invalid-arguments"])
def test_the_repro_command_of_a_failing_verdict_gives_the_same_verdict(
    default_run: Run, scenario: str, tmp_path: Path
) -> None:
    (cell,) = [
        c for c in default_run.data["cells"] if c["target"] == "naive" and c["scenario"] == scenario
    ]
    argv = shlex.split(cell["repro"])
    assert argv[0] == "faultkit"
    proc = subprocess.run(
        [sys.executable, "-m", "faultkit.cli", *argv[1:], "--report", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr  # the expected (uncontrolled) verdict again
    again = json.loads((tmp_path / "report.json").read_text())
    (rerun,) = again["cells"]
    assert (rerun["target"], rerun["scenario"], rerun["case"], rerun["seed"]) == (
        "naive",
        scenario,
        CASE,
        cell["seed"],
    )
    assert rerun["verdict"]["kind"] == cell["verdict"]["kind"] == EXPECTED[scenario][1]
    kinds = [f["kind"] for f in rerun["verdict"]["findings"]]
    assert kinds == [f["kind"] for f in cell["verdict"]["findings"]]
    assert shlex.split(rerun["repro"])[:-2] == argv[:-2]  # the same command, bar --report
