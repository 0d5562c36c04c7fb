"""The report formats, on a small real run (see report_world): each a faithful view of it."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import pytest
from report_world import sample_report

from faultkit.report import REPORT_FILES, junit, terminal, write_reports
from faultkit.report import html as html_report
from faultkit.report.coverage import coverage
from faultkit.report.html import latency_plot
from faultkit.report.table import MARKER
from faultkit.runner.compare import compare, load_previous
from faultkit.runner.model import RunReport
from faultkit.runner.repeat import merge


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> RunReport:
    return sample_report(tmp_path_factory.mktemp("world"))


def test_the_sample_run_has_what_the_reports_must_show(report: RunReport) -> None:
    assert report.matrix() == {
        "calm": {"report_world:app": "pass/pass"},
        "tool-down": {"report_world:app": "crash/crash"},
    }
    assert report.exit_code == 1
    assert report.summary == {
        "cells": 4,
        "controlled": 2,
        "uncontrolled": 2,
        "not_exercised": 0,
        "harness_errors": 0,
        "passed": 2,
        "failed": 2,
    }


def test_json_report_round_trips_with_every_verdict_and_its_evidence(
    report: RunReport, tmp_path: Path
) -> None:
    paths = write_reports(report, tmp_path / "out")
    assert [p.name for p in paths] == list(REPORT_FILES)
    data = json.loads(paths[0].read_text())
    assert RunReport.model_validate(data).matrix() == report.matrix()
    crash = next(c for c in data["cells"] if c["scenario"] == "tool-down")
    assert crash["verdict"]["kind"] == "crash"
    assert crash["verdict"]["findings"][0]["entry_ids"] == [1]
    assert crash["ledger"][0]["status"] == 503
    assert crash["result"]["error"]["type"] == "builtins.KeyError"
    assert crash["repro"] == "faultkit run report_world:app --scenario tool-down --case a --seed 5"
    assert data["exit_code"] == 1 and data["summary"]["failed"] == 2


def test_junit_has_one_testcase_per_scenario_and_case_failing_the_uncontrolled(
    report: RunReport,
) -> None:
    root = ET.fromstring(junit.dumps(report))
    (suite,) = root.findall("testsuite")
    assert (suite.get("name"), suite.get("tests"), suite.get("failures")) == (
        "faultkit.report_world:app",
        "4",
        "2",
    )
    cases = {c.get("name"): c for c in suite.findall("testcase")}
    assert sorted(cases) == ["calm[a]", "calm[b]", "tool-down[a]", "tool-down[b]"]
    assert cases["calm[a]"].find("failure") is None
    failure = cases["tool-down[b]"].find("failure")
    assert failure is not None and failure.get("type") == "crash"
    assert "verdict crash (UNCONTROLLED) in tool-down / b" in failure.text
    props = {p.get("name"): p.get("value") for p in cases["tool-down[b]"].iter("property")}
    assert props["verdict"] == "crash" and props["seed"] == "5"
    assert props["repro"].endswith("--case b --seed 5")


def test_coverage_counts_exercised_skipped_and_never_fired_faults(report: RunReport) -> None:
    cov = coverage(report)
    column = ("tools.internal", "json")
    assert cov.columns == [column]  # the 503 the fault made up is JSON too
    assert cov.state("latency", column) == "exercised" and cov.applied[("latency", *column)] == 2
    assert cov.state("http_error", column) == "exercised"
    assert cov.state("broken_sse", column) == "skipped"  # fired, but a JSON body has no events
    assert cov.state("stall", column) == "no"
    assert "stall" in cov.faults and "schema_drift" in cov.faults  # unused types are rows too
    assert cov.never_fired == [("tool-down", "never", "http_error", "anthropic")]


def test_html_is_one_self_contained_page_with_matrix_plots_and_coverage(
    report: RunReport,
) -> None:
    page = html_report.render(report)
    assert page.startswith("<!doctype html>")
    assert "<script" not in page and "<link" not in page and "src=" not in page
    matrix = page.split('class="fk-table matrix"', 1)[1].split("</table>", 1)[0]
    assert ">calm</a>" not in matrix  # two cases: one row per scenario and case
    assert ">calm [a]</a>" in matrix and ">tool-down [b]</a>" in matrix
    assert 'class="fail"' in matrix and "crash ! want controlled" in matrix
    coverage_table = page.split('class="fk-table coverage"', 1)[1].split("</table>", 1)[0]
    assert "tools.internal" in coverage_table and 'class="cov-exercised"' in coverage_table
    assert 'class="cov-skipped"' in coverage_table
    assert "Rules that never fired" in page
    assert page.count("<svg") == 2
    assert "Quiet &lt;b&gt;day&lt;/b&gt; &amp; nothing breaks." in page
    assert "reproduce: <code>faultkit run report_world:app --scenario tool-down" in page


def test_latency_plot_draws_every_exchange_and_the_deadline(report: RunReport) -> None:
    cells = [c for c in report.cells if c.scenario == "tool-down"]
    svg = latency_plot(cells, 2000)
    root = ET.fromstring(svg)
    ns = "{http://www.w3.org/2000/svg}"
    titles = [t.text for t in root.iter(f"{ns}title")]
    assert sum(1 for t in titles if t.startswith("#1 tools.internal")) == 2  # one per case
    assert any("crash after" in t for t in titles)
    assert "deadline 2 s" in titles
    dashed = [ln for ln in root.iter(f"{ns}line") if ln.get("stroke-dasharray")]
    assert len(dashed) == 1


def test_terminal_matrix_marks_what_fails_the_run(report: RunReport) -> None:
    text = terminal.matrix(report)
    lines = text.splitlines()
    assert lines[0].split() == ["SCENARIO", "report_world:app"]
    assert lines[1].split() == ["calm", "[a]", "pass"]
    assert lines[3].split()[:4] == ["tool-down", "[a]", "crash", "!"]
    assert "\033[" not in text
    assert "\033[31m" in terminal.matrix(report, color=True)
    assert terminal.summary(report)[-1] == "2 verdict(s) uncontrolled or not allowed (exit 1)"


class _Tables(HTMLParser):
    """Every ``<table>`` of a page: its class, and each row's cell texts."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[tuple[str, list[list[str]]]] = []
        self.inside = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self.tables.append((dict(attrs).get("class") or "", []))
            self.inside = True
        elif self.inside and tag == "tr":
            self.tables[-1][1].append([])
        elif self.inside and tag in ("td", "th"):
            self.tables[-1][1][-1].append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self.inside = False

    def handle_data(self, data: str) -> None:
        if self.inside and self.tables[-1][1] and self.tables[-1][1][-1]:
            self.tables[-1][1][-1][-1] += data


def _tables(page: str) -> list[tuple[str, list[list[str]]]]:
    parser = _Tables()
    parser.feed(page)
    return parser.tables


def _nightly(report: RunReport, tmp_path: Path) -> RunReport:
    """The sample run as a nightly job sees it: under ``--repeat 2`` and compared with a
    previous report in which tool-down [a] passed (so it is now a regression)."""
    previous = json.loads(report.model_dump_json())
    cell = next(c for c in previous["cells"] if (c["scenario"], c["case"]) == ("tool-down", "a"))
    cell.update(verdict={"kind": "pass"}, category="controlled", passed=True)
    (tmp_path / "previous.json").write_text(json.dumps(previous))
    cells = [c.model_copy(update={"repeat": merge([c, c]).repeat}) for c in report.cells]
    comparison = compare(load_previous(tmp_path / "previous.json"), cells)
    return report.model_copy(update={"cells": cells, "repeat": 2, "comparison": comparison})


def test_every_table_of_report_html_is_drawn_by_the_one_renderer(
    report: RunReport, tmp_path: Path
) -> None:
    page = html_report.render(_nightly(report, tmp_path))
    tables = _tables(page)
    assert all(cls.split()[0] == MARKER for cls, _ in tables), [c for c, _ in tables]
    kinds = [cls.split()[1] for cls, _ in tables]
    assert kinds[:4] == ["changes", "matrix", "stability", "coverage"]
    assert kinds[4:] == ["ledger"] * len(report.cells)
    changes = dict(tables)[f"{MARKER} changes"]
    assert changes[1][:4] == ["! newly uncontrolled", "report_world:app", "tool-down", "a"]
    assert changes[1][4:6] == ["pass", "crash"]
    assert "--scenario tool-down --case a" in changes[1][6]
    stability = dict(tables)[f"{MARKER} stability"]
    assert [row[3] for row in stability[1:]] == ["stable"] * len(report.cells)


def test_the_html_matrix_says_what_the_terminal_matrix_says(report: RunReport) -> None:
    header, texts, _ = terminal.matrix_table(report)
    matrix = dict(_tables(html_report.render(report)))[f"{MARKER} matrix"]
    assert matrix == [header, *texts]
