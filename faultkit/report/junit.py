"""JUnit XML for CI: one ``<testsuite>`` per target, one ``<testcase>`` per (scenario, case).

A testcase fails exactly when its cell does not pass (the rule that sets the exit code: a user
target's verdict is uncontrolled or not allowed by the scenario; in the embedded default, the
verdict differs from the expected one). A cell whose faults never fired is ``<skipped>`` with
the reason (a failure with ``--require-exercised``); a cell faultkit could not run as written is
an ``<error>`` (a harness problem, not a verdict on the target). Either way the verdict, its
findings and the repro command are in the testcase's ``system-out`` and properties, so a CI
page shows the evidence; under ``--repeat`` also the verdicts per seed and the controlled share.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from faultkit.report import nightly
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
    properties = {
        "verdict": cell.verdict.kind,
        "controlled": str(cell.controlled).lower(),
        "expected": cell.expected or "controlled and allowed",
        "seed": str(cell.seed),
        "repro": cell.repro,
    }
    if cell.repeat is not None:  # --repeat: the verdict above is the worst seed's
        properties["stable"] = str(cell.repeat.stable).lower()
        properties["seeds"] = nightly.counts_text(cell.repeat)
        properties["controlled_share"] = nightly.share_text(cell.repeat)
    _properties(case, properties)
    outcome = _outcome(cell)
    if outcome == "skipped":
        ET.SubElement(case, "skipped", message=f"not_exercised: {cell.reason}")
    elif outcome == "error":
        error = ET.SubElement(
            case, "error", type=cell.verdict.kind, message=f"harness_error: {cell.reason}"
        )
        error.text = cell.verdict.explain()
    elif outcome == "failure":
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


def _outcome(cell: Cell) -> str:
    """``passed``, ``failure``, ``skipped`` (no fault fired, and that is allowed) or ``error``
    (a harness problem)."""
    if cell.category == "harness_error" and cell.expected in (None, "controlled"):
        return "error"
    if cell.passed:
        return "skipped" if cell.category == "not_exercised" else "passed"
    return "failure"


def _counts(cells: list[Cell]) -> dict[str, str]:
    outcomes = [_outcome(c) for c in cells]
    return {
        "tests": str(len(cells)),
        "failures": str(outcomes.count("failure")),
        "errors": str(outcomes.count("error")),
        "skipped": str(outcomes.count("skipped")),
    }


def to_xml(report: RunReport) -> ET.Element:
    root = ET.Element(
        "testsuites",
        name="faultkit",
        **_counts(report.cells),
        time=f"{report.duration_s:.3f}",
    )
    for target in dict.fromkeys(c.target for c in report.cells):
        cells = [c for c in report.cells if c.target == target]
        classname = f"faultkit.{target}"
        suite = ET.SubElement(
            root,
            "testsuite",
            name=classname,
            **_counts(cells),
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
