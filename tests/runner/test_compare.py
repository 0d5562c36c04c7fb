"""``faultkit run --compare PREVIOUS/report.json``: the nightly run's "what changed".

Real runs through ``faultkit.cli.main`` on a tiny project (the tool recording and scenarios of
``tool_world``, plus a scenario that drops a field from the tool's answer). The app under test
is one target, ``nightly_app:answer``, whose code "changes between nights" through environment
switches read at call time, so the same target reference is compared across runs, as in a CI
job comparing tonight's build with last night's.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from tool_world import write_scenarios, write_tool_cassette

from faultkit.cli import main

APP = '''
import os

import httpx
from pydantic import BaseModel


class Answer(BaseModel):
    item: str
    price: float


class AppError(Exception):
    """Declared: the app could not answer."""


def answer(item_id: str, *, http_client_factory=httpx.Client):
    """CHECK_STATUS=1: a tool error is a declared AppError (else the error body is read as
    data, and a KeyError follows); CHECK_FIELDS=1: a field missing from a successful answer
    is a declared AppError (else a KeyError); OFFLINE=1: the tool is not called at all;
    ITEM: ask for another item than the case's (one the cassette does not hold)."""
    item_id = os.environ.get("ITEM") or item_id
    if os.environ.get("OFFLINE") == "1":
        return Answer(item="unknown", price=0.0)
    with http_client_factory(timeout=2.0) as client:
        response = client.get(f"http://tools.internal/items/{item_id}")
    if os.environ.get("CHECK_STATUS") == "1" and response.status_code != 200:
        raise AppError(f"tool said {response.status_code}")
    data = response.json()
    complete = {"name", "price"} <= set(data)
    if os.environ.get("CHECK_FIELDS") == "1" and response.status_code == 200 and not complete:
        raise AppError("tool answer incomplete")
    return Answer(item=data["name"], price=data["price"])
'''

CASES = """
target: nightly_app:answer
contract:
  output_model: nightly_app:Answer
  error_types: [nightly_app:AppError]
  deadline_ms: 2000
cassettes: [tools.yaml]
cases:
  - name: lamp
    input: {item_id: "7"}
"""

DROP_NAME = """name: name-dropped
seed: 3
rules:
  - match: {route: 'tools*'}
    fault: {type: partial_tool_data, op: drop_fields, fields: [name]}
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "nightly_app.py").write_text(textwrap.dedent(APP))
    write_tool_cassette(tmp_path)
    (tmp_path / "cases.yaml").write_text(CASES)
    scenarios = write_scenarios(tmp_path)
    (scenarios / "name-dropped.yaml").write_text(DROP_NAME)
    return tmp_path


@pytest.fixture
def fk(project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    """``fk(*argv, **switches)``: ``faultkit run --cases cases.yaml --scenarios scenarios
    *argv`` with the app's switches set; returns (code, stdout, stderr)."""
    monkeypatch.chdir(project)
    monkeypatch.syspath_prepend(str(project))

    def run(*argv: str, **switches: str) -> tuple[int, str, str]:
        for name in ("CHECK_STATUS", "CHECK_FIELDS", "OFFLINE", "ITEM"):
            monkeypatch.setenv(name, switches.get(name, "0" if name != "ITEM" else ""))
        code = main(["run", "--cases", "cases.yaml", "--scenarios", "scenarios", *argv])
        out, err = capsys.readouterr()
        return code, out, err

    return run


def _report(path: Path) -> dict:
    return json.loads((path / "report.json").read_text())


def _kinds(report: dict) -> dict[str, str]:
    return {c["scenario"]: c["verdict"]["kind"] for c in report["cells"]}


def _section(out: str) -> list[str]:
    """The lines of the terminal's "changes since" section, its heading first."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("changes since "))
    end = lines.index("", start)
    return lines[start:end]


def test_a_regression_is_listed_first_fails_the_run_and_a_fix_is_listed(fk, project) -> None:
    # Last night: tool errors crash the app, incomplete answers are declared errors.
    code, _, _ = fk("--report", "last", CHECK_FIELDS="1")
    assert code == 1
    assert _kinds(_report(project / "last")) == {
        "calm": "pass",
        "name-dropped": "controlled_error",
        "tool-down": "crash",
    }
    # Tonight: tool errors handled (fixed), the field check gone (regression).
    code, out, _ = fk("--report", "tonight", "--compare", "last/report.json", CHECK_STATUS="1")
    tonight = _report(project / "tonight")
    assert _kinds(tonight) == {
        "calm": "pass",
        "name-dropped": "crash",
        "tool-down": "controlled_error",
    }
    assert code == 1 and tonight["exit_code"] == 1

    section = _section(out)
    assert section[0].startswith("changes since last/report.json, run ")
    assert "3 cell(s) matched, 1 unchanged" in section[0]
    assert section[1].split() == [
        "!", "newly", "uncontrolled", "nightly_app:answer", "x", "name-dropped", "[lamp]:",
        "controlled_error", "->", "crash",
    ]  # fmt: skip
    repro = section[2].split()
    assert repro[:3] == ["faultkit", "run", "nightly_app:answer"]
    assert repro[repro.index("--scenario") + 1] == "name-dropped"
    assert repro[repro.index("--seed") + 1] == "3"
    assert section[3].split() == [
        "fixed", "nightly_app:answer", "x", "tool-down", "[lamp]:", "crash", "->",
        "controlled_error",
    ]  # fmt: skip
    assert len(section) == 4
    assert out.splitlines()[-2].endswith(
        "since last/report.json: 1 regression(s), 1 fixed, 0 still failing (exit 1)"
    )

    comparison = tonight["comparison"]
    assert comparison["previous"] == "last/report.json"
    assert comparison["regressions"] == 1
    assert [(c["change"], c["scenario"], c["before"], c["after"], c["regression"])
            for c in comparison["changes"]] == [
        ("newly_uncontrolled", "name-dropped", "controlled_error", "crash", True),
        ("fixed", "tool-down", "crash", "controlled_error", False),
    ]  # fmt: skip
    html = (project / "tonight" / "report.html").read_text()
    assert "Changes since the previous run" in html
    assert html.index("! newly uncontrolled") < html.index(">fixed<")
    assert html.index('id="changes"') < html.index('id="matrix"')

    # The repro command given for the regression reproduces it.
    code, _, _ = fk(*repro[3:], CHECK_STATUS="1")
    assert code == 1
    assert _kinds(_report(project / "tonight" / "repro")) == {"name-dropped": "crash"}


def test_a_failure_carried_over_does_not_fail_the_run_but_is_counted(fk, project) -> None:
    code, _, _ = fk("--report", "last", CHECK_STATUS="1")
    assert code == 1  # name-dropped crashes, without --compare that fails the run
    # Same code again, the report overwriting the very file it is compared with.
    code, out, _ = fk("--report", "last", "--compare", "last/report.json", CHECK_STATUS="1")
    assert code == 0
    assert _section(out)[1:] == ["  none"]
    assert "name-dropped crash ! want controlled" in " ".join(out.split())
    assert out.splitlines()[-2].endswith(
        "since last/report.json: 0 regression(s), 0 fixed, 1 still failing (exit 0)"
    )
    comparison = _report(project / "last")["comparison"]
    assert (comparison["matched"], comparison["unchanged"], comparison["still_failing"]) == (
        3,
        3,
        1,
    )
    assert comparison["changes"] == []


def test_newly_not_exercised_is_listed_and_fails_only_when_exercise_is_required(
    fk, project
) -> None:
    fk("--report", "last", CHECK_STATUS="1", CHECK_FIELDS="1")
    # The app stops calling the tool: no fault can fire any more.
    code, out, _ = fk("--no-report", "--compare", "last/report.json", OFFLINE="1")
    assert code == 0
    lines = _section(out)[1:]
    assert [line.rsplit(": ", 1)[0].split() for line in lines] == [
        ["newly", "not", "exercised", "nightly_app:answer", "x", s, "[lamp]"]
        for s in ("calm", "name-dropped", "tool-down")
    ]
    assert lines[0].endswith("pass -> not_exercised")

    code, out, _ = fk(
        "--no-report", "--require-exercised", "--compare", "last/report.json", OFFLINE="1"
    )
    assert code == 1
    assert all(line.startswith("  ! newly not exercised") for line in _section(out)[1::2])


def test_a_new_harness_error_is_a_regression(fk, project) -> None:
    """The app now asks for an item no recording holds: faultkit cannot judge the cell, which
    fails the run; it passed last night, so it is a regression (a nightly job must not go
    green because its cells stopped being tested)."""
    fk("--report", "last", "--scenario", "calm", CHECK_STATUS="1", CHECK_FIELDS="1")
    code, out, _ = fk(
        "--no-report", "--scenario", "calm", "--compare", "last/report.json",
        CHECK_STATUS="1", CHECK_FIELDS="1", ITEM="8",
    )  # fmt: skip
    assert code == 1
    assert _section(out)[1].split() == [
        "!", "newly", "harness", "error", "nightly_app:answer", "x", "calm", "[lamp]:",
        "pass", "->", "harness_error",
    ]  # fmt: skip


def test_added_and_removed_cells_are_listed(fk, project) -> None:
    fk("--report", "last", "--scenario", "calm", "--scenario", "tool-down", CHECK_FIELDS="1")
    code, out, _ = fk(
        "--report", "now", "--scenario", "calm", "--scenario", "name-dropped",
        "--compare", "last/report.json",
    )  # fmt: skip
    # name-dropped is new and crashes: a regression; tool-down was removed.
    assert code == 1
    changes = _report(project / "now")["comparison"]["changes"]
    assert [(c["change"], c["scenario"], c["before"], c["after"], c["regression"])
            for c in changes] == [
        ("added", "name-dropped", None, "crash", True),
        ("removed", "tool-down", "crash", None, False),
    ]  # fmt: skip
    section = _section(out)
    assert section[1].split() == [
        "!",
        "added",
        "nightly_app:answer",
        "x",
        "name-dropped",
        "[lamp]:",
        "crash",
    ]
    assert section[3].split() == [
        "removed",
        "nightly_app:answer",
        "x",
        "tool-down",
        "[lamp]:",
        "was",
        "crash",
    ]


def test_a_verdict_kind_change_within_a_category_is_listed(fk, project) -> None:
    """tool-down's 503 was a declared error; the scenario now injects only latency, which the
    app passes: controlled_error -> pass, the same category, listed but no regression."""
    fk("--report", "last", "--scenario", "tool-down", CHECK_STATUS="1")
    (project / "scenarios" / "tool-down.yaml").write_text(
        "name: tool-down\nseed: 5\nexpect: {outcomes: [pass, controlled_error]}\nrules:\n"
        "  - match: {route: 'tools*'}\n    fault: {type: latency, latency_ms: 5}\n"
    )
    code, out, _ = fk("--no-report", "--scenario", "tool-down", "--compare", "last/report.json")
    assert code == 0
    assert _section(out)[1].split() == [
        "verdict", "changed", "nightly_app:answer", "x", "tool-down", "[lamp]:",
        "controlled_error", "->", "pass",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "old.json: previous report not found (--compare)"),
        ('{"mode": "target",\n "cells": [,]}', "old.json:2: not JSON (Expecting value)"),
        ('{"hello": 1}', "old.json: not a faultkit run report (no 'mode' and 'cells')"),
        ("[1, 2]", "old.json: not a faultkit run report"),
        (
            '{"mode": "target", "cells": [{"target": "t", "scenario": "s", "case": "c", '
            '"verdict": {}, "category": "controlled", "passed": true}]}',
            "old.json: cells[0]: verdict.kind: Field required",
        ),
        (b"\xff\xfe\x00garbage", "old.json: cannot read the previous report (--compare)"),
    ],
)
def test_a_bad_previous_report_is_one_line_exit_two_and_nothing_runs(
    fk, project, content, message
) -> None:
    path = project / "old.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)
    code, out, err = fk("--report", "out", "--compare", "old.json")
    assert code == 2
    assert message in err
    assert len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err
    assert out == ""
    assert not (project / "out").exists()


def test_a_report_directory_stands_for_its_report_json(fk, project) -> None:
    fk("--report", "last", "--scenario", "calm")
    code, out, _ = fk("--no-report", "--scenario", "calm", "--compare", "last")
    assert code == 0
    assert _section(out)[0].startswith("changes since last/report.json, run ")
    (project / "empty").mkdir()
    code, _, err = fk("--no-report", "--compare", "empty")
    assert code == 2
    assert err.strip().startswith("empty: cannot read the previous report (--compare): ")


def test_a_report_of_faultkit_load_is_refused(fk, project) -> None:
    """Another faultkit report that is no run report: ``faultkit load``'s load.json (its
    top-level fields, with a ``mode`` of its own)."""
    load = {"target": "http://127.0.0.1:8000/ask", "mode": "replay", "users": 5, "results": []}
    (project / "load.json").write_text(json.dumps(load))
    code, _, err = fk("--no-report", "--compare", "load.json")
    assert code == 2
    assert err.strip() == (
        "load.json: not a faultkit run report (no 'mode' and 'cells'); --compare takes the "
        "report.json of an earlier faultkit run"
    )


def test_json_prints_the_report_document_alone_on_stdout(fk, project) -> None:
    """``--json``: stdout is report.json's document and nothing else (a script pipes it into
    jq); the comparison is in it; the human lines went to stderr."""
    fk("--report", "last", CHECK_FIELDS="1")
    code, out, err = fk("--report", "tonight", "--compare", "last", "--json", CHECK_STATUS="1")
    printed = json.loads(out)
    assert code == 1 and printed["exit_code"] == 1
    assert printed == _report(project / "tonight")
    assert _kinds(printed)["name-dropped"] == "crash"
    assert printed["comparison"]["regressions"] == 1, printed["comparison"]
    assert "reports: " in err and "reports: " not in out
