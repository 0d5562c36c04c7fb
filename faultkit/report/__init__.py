"""Reports of a ``faultkit run``: views of one :class:`~faultkit.runner.model.RunReport`.

* :mod:`.json` — every verdict with its evidence (machine-readable);
* :mod:`.junit` — one testcase per (target, scenario, case), for CI;
* :mod:`.html` — one self-contained page: verdict matrix, latency plots, fault coverage;
* :mod:`.terminal` — the verdict matrix as a text table (built once, for it and the HTML
  page, in :mod:`.matrix`).

Shared with ``faultkit load``'s report, the CLI and the pytest plugin: :mod:`.charts` (inline
SVG charts) and :mod:`.table` (the table model, drawn as text with the colour rule, and as
HTML for both pages).

:func:`write_reports` writes the three files into a directory, and :func:`details` of the
terminal view prints lines; both go through :func:`scrubbed` first, so no key reaches a report:
neither one in the ledger entries a verdict rests on, nor one the target returned or raised
(its answer is evidence, and in record or passthrough mode it came from the live provider).
"""

from __future__ import annotations

from pathlib import Path

from faultkit.runner.model import RunReport
from faultkit.scrub import scrub_json

REPORT_FILES = ("report.json", "junit.xml", "report.html")


def write_reports(report: RunReport, directory: str | Path) -> list[Path]:
    """Write ``report.json``, ``junit.xml`` and ``report.html`` into ``directory`` (created if
    missing); returns the paths written."""
    from faultkit.report import html, json, junit

    report = scrubbed(report)
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / name for name in REPORT_FILES]
    json.write(report, paths[0])
    junit.write(report, paths[1])
    html.write(report, paths[2])
    return paths


def scrubbed(report: RunReport) -> RunReport:
    """``report`` with every string in it scrubbed (:mod:`faultkit.scrub`); the same object
    when there was nothing to scrub."""
    data, changed = scrub_json(report.model_dump(mode="json"))
    return RunReport.model_validate(data) if changed else report


__all__ = ["REPORT_FILES", "scrubbed", "write_reports"]
