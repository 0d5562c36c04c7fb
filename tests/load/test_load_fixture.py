"""The ``faultkit_load`` fixture: a bounded load step in a test, gates asserted."""

from __future__ import annotations

import pytest
from stall_server import StallServer

from faultkit.load.fixture import LoadStep


def test_load_step_reports_and_a_broken_gate_fails_the_test(faultkit_load: LoadStep) -> None:
    with StallServer(freeze_s=0) as server:
        report = faultkit_load(
            server.url,
            proxy=False,
            users=2,
            rate=20,
            duration_s=2.0,
            gates=["error_rate<1%", "p99<1us"],
            check=False,
        )
    (result,) = report.results
    assert result.requests == pytest.approx(40, rel=0.25)
    assert [o.gate.text for o in report.failed_gates] == ["p99<1us"]
    with pytest.raises(pytest.fail.Exception, match=r"gate FAIL p99<1us .*\[direct\]"):
        faultkit_load.check(report)
