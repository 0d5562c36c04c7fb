"""The run report's ledger readable at normal widths (issue 16, item 8): the terminal details
of ``faultkit run`` and report.html's ledger table shorten long URLs and wrap long findings,
while report.json keeps every value whole. On a real run (tests/report/report_world.py)."""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from report_world import sample_report

from faultkit.report import html, terminal
from faultkit.report import json as report_json
from faultkit.report.ledger_table import abbreviate, ledger_lines, ledger_table
from faultkit.runner.model import RunReport

LONG_URL = (
    "http://tools.local/v1/items/7/"
    + "/".join(f"segment-{i}" for i in range(30))
    + "?alt=sse&cursor="
    + "c" * 80
)


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> RunReport:
    """The sample run, with one exchange's URL made very long (as an MCP session path or a
    Gemini stream URL with a cursor can be) and one finding's text a long SDK message."""
    made = sample_report(tmp_path_factory.mktemp("ledger"))
    failing = next(c for c in made.cells if not c.passed)
    failing.ledger[0] = dataclasses.replace(failing.ledger[0], url=LONG_URL)
    finding = failing.verdict.findings[0]
    failing.verdict.findings[0] = finding.model_copy(
        update={"summary": finding.summary + " " + "an error message the SDK gave " * 8}
    )
    return made


def test_abbreviate_keeps_the_start_and_the_end() -> None:
    assert abbreviate("POST /v1/chat/completions", 40) == "POST /v1/chat/completions"
    short = abbreviate("GET /v1/items/7/a/b/c/d/e/f/g/h?cursor=xyz", 24)
    assert len(short) == 24
    assert short.startswith("GET /v1/ite") and short.endswith("cursor=xyz")
    assert "..." in short


@pytest.mark.parametrize("width", [80, 100, 120])
def test_details_fit_the_width_except_the_commands(report: RunReport, width: int) -> None:
    lines = terminal.details(report, width)
    assert any(line.strip() == "ledger:" for line in lines)
    for line in lines:
        if "faultkit run " in line:  # a repro command is never wrapped: it must copy whole
            continue
        assert len(line) <= width, line
    # The long URL is shortened in the middle, its start and end kept.
    [request] = [line for line in lines if "tools.internal GET" in line and "..." in line]
    assert request.endswith("c" * 5)
    assert len(request) == width  # the request takes what the line has left, no more
    # The long finding is wrapped under its bullet, nothing of it lost.
    bullet = next(i for i, line in enumerate(lines) if line.startswith("  - "))
    end = next(i for i in range(bullet + 1, len(lines)) if not lines[i].startswith("    "))
    assert end - bullet > 1
    text = " ".join(line.strip() for line in lines[bullet:end])
    assert text.count("an error message the SDK gave") == 8


def test_each_exchange_is_one_row_with_its_faults_under_it(report: RunReport) -> None:
    failing = next(c for c in report.cells if not c.passed)
    lines = ledger_lines(failing.ledger, 80)
    assert re.fullmatch(r"    #\s+call\s+status\s+ending\s+ms\s+request", lines[0])
    rows = [line for line in lines if re.match(r"    #\d+ ", line)]
    assert len(rows) == len(failing.ledger)
    for entry, row in zip(failing.ledger, rows, strict=True):
        assert row.split()[:4] == [
            f"#{entry.id}",
            f"{entry.logical_call}.{entry.attempt}",
            str(entry.status or "-"),
            entry.ending,
        ]
        assert entry.route in row
    faulted = [e for e in failing.ledger if e.faults]
    for entry in faulted:
        assert any(f"{entry.faults[0].type} ({entry.faults[0].rule})" in line for line in lines)


def test_report_json_keeps_the_full_values(report: RunReport) -> None:
    document = json.loads(report_json.dumps(report))
    urls = [e["url"] for c in document["cells"] for e in c["ledger"]]
    assert LONG_URL in urls
    summaries = [f["summary"] for c in document["cells"] for f in c["verdict"]["findings"]]
    assert any(s.count("an error message the SDK gave") == 8 for s in summaries)


class _LedgerCells(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.in_ledger = False
        self.cell: dict[str, str] | None = None
        self.cells: list[tuple[dict[str, str], str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self.in_ledger = ("class", "fk-table ledger") in attrs
        elif tag == "td" and self.in_ledger:
            self.cell = {k: v or "" for k, v in attrs}
            self.cells.append((self.cell, ""))

    def handle_data(self, data: str) -> None:
        if self.cell is not None and self.cells:
            attrs, text = self.cells[-1]
            self.cells[-1] = (attrs, text + data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "td":
            self.cell = None
        elif tag == "table":
            self.in_ledger = False


def test_report_html_ledger_shows_the_request_short_and_the_url_on_hover(
    report: RunReport,
) -> None:
    page = html.render(report)
    parser = _LedgerCells()
    parser.feed(page)
    titled = [(attrs["title"], text) for attrs, text in parser.cells if "title" in attrs]
    assert titled, "the ledger table has a request column with the URL as its title"
    long = [text for title, text in titled if title == LONG_URL]
    assert long and all(len(text) <= html.HTML_REQUEST_CHARS for text in long)
    assert long[0].startswith("GET /v1/items/7/") and "..." in long[0]
    for title, text in titled:
        if len(title) < 40:
            assert text.endswith(title.split("://", 1)[1].split("/", 1)[1][-5:])
    # Long unbroken values wrap instead of widening the table.
    assert "overflow-wrap:anywhere" in html.CSS


def test_report_html_and_the_terminal_show_the_same_ledger_rows(report: RunReport) -> None:
    """One table, two renderings: the page's ledger cells are the terminal's, column for
    column, with the model and the unshortened faults and failure besides."""
    failing = next(c for c in report.cells if not c.passed)
    parser = _LedgerCells()
    parser.feed(html.render(report))
    n = len(ledger_table([]).columns)
    page = [parser.cells[i : i + n] for i in range(0, len(parser.cells), n)]
    lines = [line for line in ledger_lines(failing.ledger, 100) if re.match(r"    #\d+ ", line)]
    for entry, line in zip(failing.ledger, lines, strict=True):
        found = [
            [text for _, text in r]
            for r in page
            if r[6][0].get("title") == entry.url and [t for _, t in r[:5]] == line.split()[:5]
        ]
        assert found, line  # its row on the page: the same URL, the same first five cells
        row = found[0]
        assert line.split()[5:7] == [row[5], row[6].split()[0]]  # route, method
        assert row[7] == (entry.model or "")
        assert f"{entry.faults[0].type} ({entry.faults[0].rule})" in row[8]


def test_faultkit_run_details_fit_columns(monkeypatch: pytest.MonkeyPatch) -> None:
    """Through the real command on a zoo app with a planted bug: piped with ``COLUMNS=80``,
    the failing verdict's finding and ledger fit 80 columns, its commands stay whole."""
    from faultkit.cli import main

    monkeypatch.chdir(Path(__file__).resolve().parents[1] / "zoo")
    monkeypatch.setenv("COLUMNS", "80")
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        code = main(
            [
                *("run", "leave_days.app:answer", "--cases", "leave_days/cases.yaml"),
                *("--scenario", "partial-tool-data.hr.zoo.test", "--no-report", "-q"),
            ]
        )
    assert code == 1
    lines = out.getvalue().splitlines()
    assert "  ledger:" in lines
    assert any(re.match(r"    #2 +1\.1 +200 +completed .*hr\.zoo\.test GET /v", x) for x in lines)
    assert "        partial_tool_data (drop-fields)" in lines
    for line in lines:
        if "faultkit run " not in line:
            assert len(line) <= 80, line
