"""Reports: JSON that round-trips, CSV tables, and an HTML page with inline SVG plots."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

from faultkit.load import histogram as hist
from faultkit.load.gates import evaluate, parse_gate
from faultkit.load.report import write_reports
from faultkit.load.results import PhaseResult, TimePoint
from faultkit.load.runner import LoadReport, Overhead
from faultkit.load.terminal import latency_table
from faultkit.report.charts import Series, line_chart
from faultkit.report.table import MARKER


def _result(phase: str, kind: str, base_ms: float) -> PhaseResult:
    h = hist.new_histogram()
    for i in range(1000):
        hist.record(h, base_ms * (1 + i / 1000))
    summary = hist.summarize(h)
    return PhaseResult(
        phase=phase,
        kind=kind,  # type: ignore[arg-type]
        host="http://127.0.0.1:1",
        requests=1000,
        rps=100.0,
        raw=summary,
        corrected=summary,
        timeline=[
            TimePoint(
                t_s=t,
                requests=100,
                failures=0,
                p50_ms=base_ms,
                p99_ms=base_ms * 2,
                max_ms=base_ms * 3,
                raw_p99_ms=base_ms,
            )
            for t in range(10)
        ],
        spectrum={"raw": hist.spectrum(h), "corrected": hist.spectrum(h)},
        histograms={"raw": hist.encode(h), "corrected": hist.encode(h)},
    )


def _report() -> LoadReport:
    results = [
        _result("baseline", "baseline", 2.0),
        _result("provider-slowdown", "scenario", 2500.0),
        _result("<b>odd</b>", "scenario", 40.0),
    ]
    gates = evaluate([parse_gate("p99<2500ms")], results[1:])
    return LoadReport(
        target="http://127.0.0.1:8000/ask",
        mode="passthrough",
        route="target",
        users=5,
        rate=100.0,
        duration_s=10.0,
        workers=0,
        locustfile="loadtests/through_proxy.py",
        results=results,
        overhead=Overhead(p50_ms=0.5, p95_ms=0.9, p99_ms=1.5, note="n"),
        gates=gates,
        warnings=["something to know"],
    )


def test_write_reports(tmp_path: Path) -> None:
    report = _report()
    paths = write_reports(report, tmp_path / "out")
    assert [p.name for p in paths] == ["load.json", "load.csv", "load-timeline.csv", "load.html"]

    again = LoadReport.model_validate(json.loads(paths[0].read_text()))
    assert again == report and not again.ok

    rows = list(csv.DictReader(paths[1].open()))
    assert [r["phase"] for r in rows] == ["baseline", "provider-slowdown", "<b>odd</b>"]
    assert float(rows[1]["corrected_p99_ms"]) > 4900

    timeline = list(csv.DictReader(paths[2].open()))
    assert len(timeline) == 30 and timeline[0]["phase"] == "baseline"

    page = paths[3].read_text()
    assert page.count("vs baseline</h2>") == 2  # one section per scenario
    assert page.count("<svg") == 4  # over time + distribution, each
    assert "&lt;b&gt;odd&lt;/b&gt;" in page and "<b>odd</b>" not in page
    assert "gate FAIL p99&lt;2500ms" in page and "something to know" in page


def test_svg_lines_stay_inside_the_plot() -> None:
    chart = line_chart(
        [
            Series("a", [(0, 1.0), (5, 100.0), (10, 2500.0)], "#000"),
            Series("b", [(0, 0.5), (10, 3.0)], "#f00", dash="5,4"),
        ],
        x_label="t",
    )
    box = re.search(r'<rect x="(\d+)" y="(\d+)" width="(\d+)" height="(\d+)"', chart)
    assert box is not None
    x0, y0, w, h = (float(v) for v in box.groups())
    for points in re.findall(r'points="([^"]+)"', chart):
        for pair in points.split():
            x, y = (float(v) for v in pair.split(","))
            assert x0 - 0.1 <= x <= x0 + w + 0.1 and y0 - 0.1 <= y <= y0 + h + 0.1
    assert "1 s" in chart and "1 ms" in chart  # log axis labels span the data
    assert line_chart([], x_label="t").startswith("<p")


def test_the_apps_command_line_never_reaches_the_report_files(tmp_path: Path) -> None:
    key = "sk-proj-" + "x7" * 20
    app = f"env OPENAI_API_KEY={key} uvicorn myapp:api --port 8000"
    report = _report().model_copy(update={"app": app})
    paths = write_reports(report, tmp_path)
    for path in paths:
        assert key not in path.read_text(), path.name
    assert json.loads(paths[0].read_text())["app"].startswith("env OPENAI_API_KEY=REDACTED ")


def test_the_runs_table_is_drawn_by_the_one_renderer_with_numbers_right_aligned(
    tmp_path: Path,
) -> None:
    page = (write_reports(_report(), tmp_path)[3]).read_text()
    assert page.count("<table") == page.count(f'<table class="{MARKER} runs">') == 1
    table = page.split(f'<table class="{MARKER} runs">', 1)[1].split("</table>", 1)[0]
    rows = re.findall(r"<tr>(.*?)</tr>", table)
    assert len(rows) == 4  # the heading and one row per run
    run = re.findall(r"<td( class=\"num\")?>([^<]*)</td>", rows[2])
    assert run[0] == ("", "provider-slowdown") and run[1] == ("", "scenario")
    assert all(cls for cls, _ in run[2:])  # every figure is right-aligned
    assert [text for _, text in run[2:5]] == ["1000", "0.00%", "100.0"]
    # The p50 is the one the terminal's corrected table shows for the run.
    terminal = latency_table(_report().results, "corrected").texts()
    assert run[5][1] == terminal[1][4]
