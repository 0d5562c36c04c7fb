"""Run one zoo app through ``faultkit run`` in-process and hand back its report.json data.

Why a helper: every zoo test does the same thing a user would — ``faultkit run
<app>.app:answer --cases tests/zoo/<app>/cases.yaml`` with no scenario written, so faultkit
derives the scenario set from the app's own cassettes — and then reads the verdicts. The zoo
directory is put on ``sys.path`` so the apps and the import paths in their cases files
(``weather_bot.app:Forecast``) resolve as they would from the zoo directory itself.

``families`` narrows the derived set to the scenarios of those families (a derived scenario's
name is its family, with ``.<route>`` for a tool route: ``tool-timeout`` matches
``tool-timeout.weather.zoo.test``), so a test runs only the cells that target its app's bug.

:class:`Planted`, :func:`missed` and :func:`whole_set_problems` are the rules both zoo test
modules (bare SDK, frameworks) judge a report by, kept here so they stay one rule.
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from faultkit.cli import main as faultkit_main
from faultkit.oracle.verdict import UNJUDGED_KINDS, is_uncontrolled
from faultkit.runner.cases import load_cases

ZOO = Path(__file__).resolve().parent


class ZooRunError(RuntimeError):
    """The zoo app could not be run (a missing app, a family that derives nothing, a usage
    error from faultkit): the test's set-up is wrong, not the app."""


def zoo_importable() -> None:
    """Make ``<app>.app`` and the cases files' import paths resolve from the zoo directory."""
    if str(ZOO) not in sys.path:
        sys.path.insert(0, str(ZOO))


def cases_path(app: str) -> Path:
    path = ZOO / app / "cases.yaml"
    if not path.is_file():
        raise ZooRunError(f"zoo app {app!r}: no {path}")
    return path


def in_family(name: str, family: str) -> bool:
    """Whether the derived scenario ``name`` belongs to ``family`` (itself, or a per-route
    instance of it)."""
    return name == family or name.startswith(f"{family}.")


def derived_names(app: str, families: Sequence[str] | None = None) -> list[str]:
    """Names of the scenarios faultkit derives from the app's cassettes, narrowed to
    ``families``; a family that derives nothing is a ZooRunError (the test would judge
    nothing)."""
    from faultkit.derive import derive_scenarios  # engineer D2's module

    zoo_importable()
    cassettes = load_cases(cases_path(app)).cassette_paths()
    names = [s.name for s in derive_scenarios(cassettes)]
    if families is None:
        return names
    missing = [f for f in families if not any(in_family(n, f) for n in names)]
    if missing:
        raise ZooRunError(
            f"zoo app {app!r}: no derived scenario of famil{'y' if len(missing) == 1 else 'ies'} "
            f"{', '.join(missing)}; derived: {', '.join(names) or '(none)'}"
        )
    return [n for n in names if any(in_family(n, f) for f in families)]


def run_zoo_app(
    app: str,
    families: list[str] | None = None,
    tmp: Path | None = None,
    *,
    scenarios: Sequence[Path] = (),
    jobs: int = 4,
    extra: Sequence[str] = (),
) -> dict[str, Any]:
    """``faultkit run <app>.app:answer --cases <app>/cases.yaml`` in this process; returns the
    report.json data, plus ``"stdout"`` (the printed matrix, for a failing test's message).

    With no ``scenarios`` the scenario set is the derived one (as a user gets it), narrowed to
    ``families``; ``scenarios`` (files or directories) replaces it, for experiments with
    hand-written scenarios. ``jobs`` is kept low: the zoo shares two cores with other tests,
    and timing verdicts (backoff, deadlines) must not be starved."""
    if tmp is None:
        raise ZooRunError("run_zoo_app needs tmp: the directory the report is written to")
    zoo_importable()
    argv = ["run", f"{app}.app:answer", "--cases", str(cases_path(app))]
    argv += ["--report", str(tmp), "--jobs", str(jobs), "-q"]
    if scenarios:
        argv += [a for p in scenarios for a in ("--scenarios", str(p))]
        argv += [a for f in families or [] for a in ("--scenario", f)]
    elif families is not None:
        argv += [a for n in derived_names(app, families) for a in ("--scenario", n)]
    argv += list(extra)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = faultkit_main(argv)
    report = Path(tmp) / "report.json"
    if code == 2 or not report.is_file():
        raise ZooRunError(
            f"faultkit {' '.join(argv)} exited {code} with no report:\n"
            f"{err.getvalue()}{out.getvalue()}"
        )
    data: dict[str, Any] = json.loads(report.read_text(encoding="utf-8"))
    data["stdout"] = out.getvalue()
    return data


def verdicts(report: dict[str, Any]) -> dict[str, list[str]]:
    """scenario name -> verdict kinds of its cells (in case order)."""
    out: dict[str, list[str]] = {}
    for cell in report["cells"]:
        out.setdefault(cell["scenario"], []).append(cell["verdict"]["kind"])
    return out


class Planted:
    """One zoo app and its planted bug: the derived family that targets it, the verdict that
    must catch it, and every family where the same bug may show (for the whole-set check)."""

    def __init__(
        self, app: str, family: str, verdict: str, shows_in: dict[str, set[str]] | None = None
    ) -> None:
        self.app = app
        self.family = family
        self.verdict = verdict
        self.shows_in = shows_in if shows_in is not None else {family: {verdict}}

    def __repr__(self) -> str:
        return self.app


def family_of(name: str) -> str:
    """The family of a derived scenario name (``tool-timeout.weather.zoo.test`` ->
    ``tool-timeout``)."""
    return name.split(".", 1)[0]


def missed(report: dict[str, Any], planted: Planted) -> list[str]:
    """Why ``report`` (a run of ``planted.family`` only) does not show the bug caught: no
    cell, a cell where no fault fired (an app that failed before sending anything would
    "crash" for another reason), another verdict, a crash that is not the provider's error
    escaping, or a run that did not fail."""
    problems: list[str] = []
    if not report["cells"]:
        problems.append(f"{planted.app}: no cell ran for {planted.family}")
    for cell in report["cells"]:
        where = f"{planted.app} x {cell['scenario']}"
        if not any(e["faults"] for e in cell["ledger"]):
            problems.append(f"{where}: no fault fired")
        kind = cell["verdict"]["kind"]
        if kind != planted.verdict:
            problems.append(f"{where}: {kind}, expected {planted.verdict}")
        elif kind == "crash":
            error = cell["result"]["error"]["type"]
            if not error.startswith(("anthropic.", "openai.")):
                problems.append(f"{where}: crashed with {error}, not the provider's error")
    if report["exit_code"] != 1:
        problems.append(f"{planted.app}: exit {report['exit_code']}; an uncontrolled verdict fails")
    return problems


def whole_set_problems(report: dict[str, Any], app: str, planted: Planted | None) -> list[str]:
    """Over an app's whole derived set: cells left unjudged (``not_exercised``,
    ``harness_error``), uncontrolled cells that are not where the planted bug may show (with
    ``planted`` None, the app is the correct one: any uncontrolled cell), and a planted bug
    its target family did not catch."""
    problems: list[str] = []
    allowed = planted.shows_in if planted is not None else {}
    for cell in report["cells"]:
        scenario, kind = cell["scenario"], cell["verdict"]["kind"]
        if kind in UNJUDGED_KINDS:
            problems.append(f"{app} x {scenario}: {kind}")
        elif is_uncontrolled(kind) and kind not in allowed.get(family_of(scenario), set()):
            problems.append(f"{app} x {scenario}: {kind} (not the planted bug)")
    if planted is not None:
        shown = {
            family_of(c["scenario"])
            for c in report["cells"]
            if c["verdict"]["kind"] == planted.verdict
        }
        if planted.family not in shown:
            problems.append(f"{app}: planted bug not caught in {planted.family}")
    return problems
