"""The ``faultkit_load`` pytest fixture: a short, bounded load step that asserts SLO gates.

Registered by faultkit's pytest plugin (no import needed). For release pipelines::

    def test_release_gate(faultkit_load):
        faultkit_load(
            "http://127.0.0.1:8000/ask",
            app="uvicorn myapp:api --port 8000",
            cassettes=["cassettes/"],
            cases="cases.yaml",
            scenarios=["provider-slowdown", "429-burst"],
            gates=["p99<2500ms", "error_rate<1%", "uncontrolled<0.1%"],
        )

It takes the options of ``faultkit load`` by their :class:`~faultkit.load.plan.LoadOptions`
names (``app``, ``cassettes``, ``mode``, ``faults_at``, ``config``, ``cases``, ``users``,
``rate``, ``duration_s``, ...), with short defaults (5 users, 5 s per run). Locust runs in
subprocesses, so the test process never imports it (or gevent), and every child has a hard
deadline; an app it starts is stopped when the step ends, pass or fail. A failing gate fails
the test with the gate's name and the measured value; a load test that cannot measure anything
true (the app never answers, a broken baseline) fails it with the one line ``faultkit load``
would print. ``report_dir=`` writes the reports and keeps the app's stderr there. Pass
``check=False`` to get the report and decide yourself (``report.failed_gates``).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from .runner import LoadReport

STEP_DEFAULTS: dict[str, Any] = {
    "users": 5,
    "spawn_rate": 50.0,
    "duration_s": 5.0,
    "drain_s": 5.0,
    "overhead_duration_s": 0.0,
    "progress_s": 2.0,
}


class LoadStep:
    """Calling it runs one bounded load step; :meth:`check` fails the test on a broken gate."""

    def __init__(self, say: Any = None) -> None:
        self._say = say or (lambda line: None)

    def __call__(
        self,
        target: str | None = None,
        *,
        gates: Iterable[str] = (),
        check: bool = True,
        report_dir: str | Path | None = None,
        **options: Any,
    ) -> LoadReport:
        from faultkit.errors import FaultkitError

        from .gates import parse_gate
        from .report import write_reports
        from .runner import LoadOptions, run_load

        values = {**STEP_DEFAULTS, **options}
        if report_dir is not None:
            values.update(keep_dir=Path(report_dir) / "raw", app_log_dir=Path(report_dir))
        try:
            report = run_load(
                LoadOptions(target=target, gates=[parse_gate(g) for g in gates], **values),
                say=self._say,
            )
        except FaultkitError as exc:
            pytest.fail(f"faultkit load: {exc}", pytrace=False)
        if report_dir is not None:
            write_reports(report, Path(report_dir))
        if check:
            self.check(report)
        return report

    @staticmethod
    def check(report: LoadReport) -> None:
        failed = report.failed_gates
        if failed:
            lines = "\n".join(outcome.line() for outcome in failed)
            pytest.fail(f"load gates failed:\n{lines}", pytrace=False)


@pytest.fixture
def faultkit_load(request: pytest.FixtureRequest) -> LoadStep:
    """Run a short load step against an app (faults at its upstreams) and assert gates."""
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")

    def say(line: str) -> None:
        if reporter is not None and request.config.getoption("verbose") > 0:
            reporter.write_line(line)

    return LoadStep(say)
