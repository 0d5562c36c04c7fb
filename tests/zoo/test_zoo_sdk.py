"""faultkit on fourteen bare-SDK apps it has never seen, each with one planted reliability bug.

Each app is judged as a user would judge it: ``faultkit run <app>.app:answer --cases
<app>/cases.yaml`` with no scenario written, on the scenarios faultkit derives from the app's
own cassettes. The fast tests run only the derived family that targets each app's bug and
assert the verdict that must catch it; the slow test runs every app over its whole derived set,
prints the matrix, and checks that the bug is the only uncontrolled thing (other cells may show
it too where they provoke the same bug, never anything else).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from zoo.zoo_runner import (
    Planted,
    derived_names,
    missed,
    run_zoo_app,
    verdicts,
    whole_set_problems,
)

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
    # A failed refund is sent again with no idempotency key: a timeout too leaves it unknown
    # whether the first one was paid.
    Planted(
        "refund_desk",
        "tool-error",
        "duplicate_side_effect",
        {"tool-error": {"duplicate_side_effect"}, "tool-timeout": {"duplicate_side_effect"}},
    ),
    # Every failed search starts the workflow over, ten times: a silent service too.
    Planted(
        "trail_report",
        "tool-error",
        "runaway_loop",
        {"tool-error": {"runaway_loop"}, "tool-timeout": {"runaway_loop"}},
    ),
    # A cut, refused or drifted answer is asked again with the whole policy in the prompt.
    Planted(
        "expense_policy",
        "token-limit",
        "budget_exceeded",
        {
            "token-limit": {"budget_exceeded"},
            "refusal": {"budget_exceeded"},
            "schema-drift-structured-output": {"budget_exceeded"},
        },
    ),
    # The model's call to the staff-only freeze is run as asked: in every cell where the
    # model's answer arrives whole (the recorded model asks for it; no fault is needed).
    Planted(
        "gym_desk",
        "tool-error",
        "unauthorized_action",
        {
            family: {"unauthorized_action"}
            for family in ("provider-slowdown", "tool-error", "tool-timeout", "partial-tool-data")
        },
    ),
]


@pytest.mark.parametrize(
    "planted",
    PLANTED,
    ids=repr,
)
def test_planted_bug_is_caught_by_its_derived_family(planted: Planted, tmp_path: Path) -> None:
    report = run_zoo_app(planted.app, [planted.family], tmp_path)
    problems = missed(report, planted)
    assert not problems, "\n".join(problems) + "\n" + report["stdout"]


def test_every_family_the_tests_target_is_derived_for_its_app() -> None:
    """A target family that faultkit stops deriving would leave a bug untested: say so."""
    for planted in PLANTED:
        names = derived_names(planted.app)
        assert any(n == planted.family or n.startswith(f"{planted.family}.") for n in names), (
            f"{planted.app}: {planted.family} not derived; derived: {names}"
        )


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
        problems += whole_set_problems(report, planted.app, planted)
    assert not problems, "\n".join(problems)
