"""The ``faultkit_load`` pytest fixture: a short, bounded load step that asserts SLO gates.

For release pipelines::

    def test_release_gate(faultkit_load):
        faultkit_load(
            "http://127.0.0.1:8000/ask",
            scenarios=["provider-slowdown"],
            gates=["p99<2500ms", "error_rate<1%"],
        )

The step is ``faultkit load`` with short defaults (5 users, 5 s per run); Locust runs in
subprocesses, so the test process never imports it (or gevent), and every child has a hard
deadline. A failing gate fails the test with the gate's name and the measured value. Pass
``check=False`` to get the report and decide yourself (``report.failed_gates``).

Make it available with ``from faultkit.load.fixture import faultkit_load`` in a conftest (or
through faultkit's pytest plugin, which re-exports it).
"""

from __future__ import annotations

from collections.abc import Iterable
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
        **options: Any,
    ) -> LoadReport:
        from .gates import parse_gate
        from .runner import LoadOptions, run_load

        values = {**STEP_DEFAULTS, **options}
        report = run_load(
            LoadOptions(target=target, gates=[parse_gate(g) for g in gates], **values),
            say=self._say,
        )
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
    """Run a short load step against a target (through the fault proxy) and assert gates."""
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")

    def say(line: str) -> None:
        if reporter is not None and request.config.getoption("verbose") > 0:
            reporter.write_line(line)

    return LoadStep(say)
