"""faultkit on ten bare-SDK apps it has never seen, each with one planted reliability bug.

Each app is judged as a user would judge it: ``faultkit run <app>.app:answer --cases
<app>/cases.yaml`` with no scenario written, on the scenarios faultkit derives from the app's
own cassettes. The fast tests run only the derived family that targets each app's bug and
assert the verdict that must catch it; the slow test runs every app over its whole derived set,
prints the matrix, and checks that the bug is the only uncontrolled thing (other cells may show
it too where they provoke the same bug, never anything else).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from faultkit.oracle.verdict import UNJUDGED_KINDS, is_uncontrolled
from zoo.zoo_runner import derived_names, run_zoo_app, verdicts


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


# Why each "shows_in" entry beyond the target family: the same bug, met another way.
PLANTED = [
    # No timeout on the weather service: only a silent tool can show it.
    Planted("weather_now", "tool-timeout", "hang"),
    # A fixed 150 ms pause between attempts: ignores the 429's retry-after.
    Planted("flight_delay", "429-burst", "retry_after_ignored"),
    # Every 429 retried, insufficient_quota included.
    Planted("card_spend", "quota-exhausted", "retried_non_retryable"),
    # The streamed suggestion is kept whatever way the stream ended: a stall that ends in a
    # closed connection is a cut stream too.
    Planted(
        "recipe_stream",
        "truncated-stream",
        "truncated_output_accepted",
        {
            "truncated-stream": {"truncated_output_accepted"},
            "mid-stream-stall": {"truncated_output_accepted"},
        },
    ),
    # Cut-off proposal JSON closed by the app and returned.
    Planted("clinic_booking", "tool-call-invalid-arguments", "invalid_output_leaked"),
    # The answer's JSON is parsed, never validated.
    Planted("parcel_watch", "schema-drift-structured-output", "invalid_output_leaked"),
    # A missing HR figure becomes 0 days.
    Planted("leave_days", "partial-tool-data", "unknown_as_known"),
    # A failed rate lookup (an error status, or a timeout) is answered from the brochure.
    Planted(
        "loan_rates",
        "tool-error",
        "silent_tool_failure",
        {"tool-error": {"silent_tool_failure"}, "tool-timeout": {"silent_tool_failure"}},
    ),
    # Provider errors escape: every provider failure that outlasts the SDK's retries, or that
    # the SDK raises without retrying, is the same crash.
    Planted(
        "hotel_rooms",
        "529-overload",
        "crash",
        {
            "529-overload": {"crash"},
            "429-burst": {"crash"},
            "quota-exhausted": {"crash"},
            "malformed-json-output": {"crash"},
            "html-gateway-error": {"crash"},
        },
    ),
    # The audit trace logs the database lookup as ok before its status is checked.
    Planted("dose_guide", "tool-error", "untraceable"),
]


def _cells(report: dict[str, Any]) -> list[dict[str, Any]]:
    return report["cells"]


def _explain(report: dict[str, Any]) -> str:
    return report.get("stdout", "")


@pytest.mark.parametrize(
    "planted",
    PLANTED,
    ids=repr,
)
def test_planted_bug_is_caught_by_its_derived_family(planted: Planted, tmp_path: Path) -> None:
    report = run_zoo_app(planted.app, [planted.family], tmp_path)
    cells = _cells(report)
    assert cells, f"{planted.app}: no cell ran for {planted.family}"
    for cell in cells:
        # The verdict must rest on the app's own traffic meeting the fault (an app that
        # failed before sending anything would "crash" for another reason).
        fired = [e["id"] for e in cell["ledger"] if e["faults"]]
        assert fired, f"{planted.app} x {cell['scenario']}: no fault fired\n{_explain(report)}"
        kind = cell["verdict"]["kind"]
        assert kind == planted.verdict, (
            f"{planted.app} x {cell['scenario']}: {kind}, expected {planted.verdict}\n"
            f"{_explain(report)}"
        )
        if kind == "crash":
            # The provider's error escaped, not a bug of the harness or the test set-up.
            error = cell["result"]["error"]["type"]
            assert error.startswith(("anthropic.", "openai.")), error
    assert report["exit_code"] == 1, "an uncontrolled verdict must fail the run"


def test_every_family_the_tests_target_is_derived_for_its_app() -> None:
    """A target family that faultkit stops deriving would leave a bug untested: say so."""
    for planted in PLANTED:
        names = derived_names(planted.app)
        assert any(n == planted.family or n.startswith(f"{planted.family}.") for n in names), (
            f"{planted.app}: {planted.family} not derived; derived: {names}"
        )


def _family(name: str) -> str:
    return name.split(".", 1)[0]


@pytest.mark.slow
def test_zoo_matrix_over_whole_derived_sets(tmp_path: Path) -> None:
    """Every app over its whole derived set: the matrix is printed, and each app's only
    uncontrolled cells are where its planted bug shows; no cell is left unexercised."""
    problems: list[str] = []
    for planted in PLANTED:
        report = run_zoo_app(planted.app, None, tmp_path / planted.app)
        print(f"\n== {planted.app} (planted: {planted.verdict} via {planted.family})")
        for scenario, kinds in verdicts(report).items():
            print(f"  {scenario:<44} {' / '.join(kinds)}")
            for kind in kinds:
                allowed = planted.shows_in.get(_family(scenario), set())
                if kind in UNJUDGED_KINDS:
                    problems.append(f"{planted.app} x {scenario}: {kind}")
                elif is_uncontrolled(kind) and kind not in allowed:
                    problems.append(f"{planted.app} x {scenario}: {kind} (not the planted bug)")
        shown = {
            _family(c["scenario"])
            for c in _cells(report)
            if c["verdict"]["kind"] == planted.verdict
        }
        if planted.family not in shown:
            problems.append(f"{planted.app}: planted bug not caught in {planted.family}")
    assert not problems, "\n".join(problems)
