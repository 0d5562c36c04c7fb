"""JUnit XML for CI: one ``<testsuite>`` per target, one ``<testcase>`` per (scenario, case).

A testcase fails exactly when its cell does not pass (the rule that sets the exit code: a user
target's verdict is uncontrolled or not allowed by the scenario; in the embedded default, the
verdict differs from the expected one). Either way the verdict, its findings and the repro
command are in the testcase's ``system-out`` and properties, so a CI page shows the evidence.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from faultkit.runner.model import Cell, RunReport


def _properties(parent: ET.Element, values: dict[str, str]) -> None:
    props = ET.SubElement(parent, "properties")
    for name, value in values.items():
        ET.SubElement(props, "property", name=name, value=value)


def _testcase(suite: ET.Element, cell: Cell, classname: str) -> None:
    case = ET.SubElement(
        suite,
        "testcase",
        classname=classname,
        name=f"{cell.scenario}[{cell.case}]",
        time=f"{cell.result.duration_ms / 1000:.3f}",
    )
    _properties(
        case,
        {
            "verdict": cell.verdict.kind,
            "controlled": str(cell.controlled).lower(),
            "expected": cell.expected or "controlled and allowed",
            "seed": str(cell.seed),
            "repro": cell.repro,
        },
    )
    if not cell.passed:
        wanted = cell.expected or "a controlled outcome the scenario allows"
        failure = ET.SubElement(
            case,
            "failure",
            type=cell.verdict.kind,
            message=f"{cell.verdict.kind}: {cell.verdict.headline.summary} (wanted {wanted})",
        )
        failure.text = cell.verdict.explain()
    out = ET.SubElement(case, "system-out")
    out.text = cell.verdict.explain()


def to_xml(report: RunReport) -> ET.Element:
    root = ET.Element(
        "testsuites",
        name="faultkit",
        tests=str(len(report.cells)),
        failures=str(sum(1 for c in report.cells if not c.passed)),
        time=f"{report.duration_s:.3f}",
    )
    for target in dict.fromkeys(c.target for c in report.cells):
        cells = [c for c in report.cells if c.target == target]
        classname = f"faultkit.{target}"
        suite = ET.SubElement(
            root,
            "testsuite",
            name=classname,
            tests=str(len(cells)),
            failures=str(sum(1 for c in cells if not c.passed)),
            errors="0",
            skipped="0",
            time=f"{sum(c.result.duration_ms for c in cells) / 1000:.3f}",
            timestamp=report.started_at,
        )
        _properties(suite, {"mode": report.mode, "faultkit": report.faultkit_version})
        for cell in cells:
            _testcase(suite, cell, classname)
    return root


def dumps(report: RunReport) -> str:
    root = to_xml(report)
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def write(report: RunReport, path: str | Path) -> Path:
    path = Path(path)
    path.write_text(dumps(report), encoding="utf-8")
    return path
