"""Reports of a ``faultkit run``: views of one :class:`~faultkit.runner.model.RunReport`.

* :mod:`.json` — every verdict with its evidence (machine-readable);
* :mod:`.junit` — one testcase per (target, scenario, case), for CI;
* :mod:`.html` — one self-contained page: verdict matrix, latency plots, fault coverage;
* :mod:`.terminal` — the verdict matrix as a text table.

:func:`write_reports` writes the three files into a directory.
"""

from __future__ import annotations

from pathlib import Path

from faultkit.runner.model import RunReport

REPORT_FILES = ("report.json", "junit.xml", "report.html")


def write_reports(report: RunReport, directory: str | Path) -> list[Path]:
    """Write ``report.json``, ``junit.xml`` and ``report.html`` into ``directory`` (created if
    missing); returns the paths written."""
    from faultkit.report import html, json, junit

    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / name for name in REPORT_FILES]
    json.write(report, paths[0])
    junit.write(report, paths[1])
    html.write(report, paths[2])
    return paths


__all__ = ["REPORT_FILES", "write_reports"]
