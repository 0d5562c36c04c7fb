"""faultkit's opt-in sets on two more zoo apps, each with one planted bug only an adversarial or
misbehaving tool shows: ``ticket_digest`` quotes a ticket's free text to its user
(``unsafe_output_leaked``), ``stock_check`` returns the model's figures without holding them
to its inventory service's answer (``ungrounded_answer``).

Judged as a user runs them: ``faultkit run <app>.app:answer --cases <app>/cases.yaml
--scenarios red-team``. The fast tests run the scenarios that target each bug; the last one runs
the two sets plus the app's whole derived set and checks that the planted bug is the only
uncontrolled thing, so each app is the other's "correct app" for the other verdict.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from zoo.zoo_runner import ZOO, Planted, missed, run_zoo_app, whole_set_problems

SETS = [Path("red-team"), Path("model-behaviour")]
INJECTIONS = ("tool-injection", "tool-exfiltration-link", "tool-script")
LIES = ("lying-tool-numbers", "lying-tool-dates")
PLANTED = [
    Planted(
        "ticket_digest",
        "tool-injection",
        "unsafe_output_leaked",
        {name: {"unsafe_output_leaked"} for name in INJECTIONS},
    ),
    Planted(
        "stock_check",
        "lying-tool-numbers",
        "ungrounded_answer",
        {name: {"ungrounded_answer"} for name in LIES},
    ),
]
# A set scenario with nothing to alter in an app's traffic fires on nothing: the ticket holds no
# number a lie could shift.
NOTHING_TO_ALTER = {("ticket_digest", "lying-tool-numbers")}


@pytest.mark.parametrize("planted", PLANTED, ids=repr)
def test_planted_bug_is_caught_by_its_set_scenario(planted: Planted, tmp_path: Path) -> None:
    report = run_zoo_app(planted.app, [planted.family], tmp_path, scenarios=SETS[:1])
    problems = missed(report, planted)
    assert not problems, "\n".join(problems) + "\n" + report["stdout"]


@pytest.mark.parametrize("planted", PLANTED, ids=repr)
def test_the_other_verdicts_scenarios_leave_the_app_controlled(
    planted: Planted, tmp_path: Path
) -> None:
    """Each app is correct where the other is not: the stock app never passes tool text on,
    the digest app answers from its helpdesk's data."""
    other = LIES[1:] if planted.app == "ticket_digest" else INJECTIONS
    report = run_zoo_app(planted.app, list(other), tmp_path, scenarios=SETS[:1])
    kinds = {c["scenario"]: c["verdict"]["kind"] for c in report["cells"]}
    assert set(kinds) == set(other)
    assert all(k in ("pass", "controlled_error") for k in kinds.values()), report["stdout"]


def test_both_sets_and_the_derived_set(tmp_path: Path) -> None:
    problems: list[str] = []
    for planted in PLANTED:
        report = run_zoo_app(
            planted.app,
            None,
            tmp_path / planted.app,
            scenarios=[*SETS, Path("derived")],
        )
        cells = [c for c in report["cells"] if (planted.app, c["scenario"]) not in NOTHING_TO_ALTER]
        problems += whole_set_problems({**report, "cells": cells}, planted.app, planted)
    assert not problems, "\n".join(problems)


def test_tool_results_a_fault_changed_need_no_ignore_body_fields(tmp_path: Path) -> None:
    """Without ``ignore_body_fields`` the request that carries a lying tool's answer to the
    model matches no recording body for body; faultkit matches it leaving the tool results
    out, says so in the ledger, and the cell is judged instead of ending as a harness error."""
    cases = (ZOO / "stock_check" / "cases.yaml").read_text(encoding="utf-8")
    own = tmp_path / "cases.yaml"
    own.write_text(
        "\n".join(line for line in cases.splitlines() if "ignore_body_fields" not in line).replace(
            "cassettes/stock.yaml", str(ZOO / "stock_check" / "cassettes" / "stock.yaml")
        ),
        encoding="utf-8",
    )
    report = run_zoo_app(
        "stock_check",
        ["lying-tool-numbers", "tool-injection"],
        tmp_path / "report",
        scenarios=SETS[:1],
        extra=["--cases", str(own)],
    )
    kinds = {c["scenario"]: c["verdict"]["kind"] for c in report["cells"]}
    assert kinds == {"lying-tool-numbers": "ungrounded_answer", "tool-injection": "pass"}
    for cell in report["cells"]:
        last = cell["ledger"][-1]
        assert "matched leaving out tool results a fault changed, in #2" in last["recording"]
