"""faultkit on three apps written on frameworks (pydantic-ai, langchain-openai), not a bare SDK.

Judged as the bare-SDK zoo is (``faultkit run <app>.app:answer --cases <app>/cases.yaml``, no
scenario written, the set derived from the app's own cassettes), through the frameworks' real
clients: pydantic-ai's OpenAI and Anthropic models and langchain-openai's ``ChatOpenAI``.

- ``fw_course_pick`` is correct: every cell of its whole derived set is controlled and
  exercised, and it recovers from one invalid answer by re-asking once (pydantic-ai's output
  retries), which the oracle must count as a retry, not as a new call or a failure;
- ``fw_tariff_check`` (langchain ``with_retry`` with no real bound) must be ``retry_storm``;
- ``fw_claim_triage`` (pydantic-ai ``StructuredDict``, never validated) must be
  ``invalid_output_leaked``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

# The frameworks are in the dev extra, so CI has them; this only spares a partial install.
pytest.importorskip("pydantic_ai")
pytest.importorskip("langchain_openai")

from zoo.zoo_runner import (
    Planted,
    derived_names,
    missed,
    run_zoo_app,
    verdicts,
    whole_set_problems,
)

CORRECT = "fw_course_pick"
PLANTED = [
    # langchain's with_retry told to try 10 000 times: six overloaded answers in a row get
    # seven attempts.
    Planted("fw_tariff_check", "529-overload", "retry_storm"),
    # StructuredDict output is not validated by pydantic-ai: a renamed field is returned.
    Planted("fw_claim_triage", "schema-drift-structured-output", "invalid_output_leaked"),
]


@pytest.mark.parametrize("planted", PLANTED, ids=repr)
def test_planted_bug_is_caught_by_its_derived_family(planted: Planted, tmp_path: Path) -> None:
    report = run_zoo_app(planted.app, [planted.family], tmp_path)
    problems = missed(report, planted)
    assert not problems, "\n".join(problems) + "\n" + report["stdout"]


def test_the_correct_app_is_controlled_and_exercised_over_its_whole_derived_set(
    tmp_path: Path,
) -> None:
    report = run_zoo_app(CORRECT, None, tmp_path)
    judged = set(verdicts(report))
    assert judged == set(derived_names(CORRECT)), report["stdout"]
    # Its cassettes show a tool route, tool calls and a structured answer: the set covers them.
    assert {"tool-call-invalid-arguments", "schema-drift-structured-output"} <= judged
    assert any(n.startswith("partial-tool-data.") for n in judged)
    problems = whole_set_problems(report, CORRECT, None)
    assert not problems, "\n".join(problems) + "\n" + report["stdout"]
    assert report["exit_code"] == 0, report["stdout"]


def _provider_attempts(cell: dict[str, Any]) -> list[tuple[int, int]]:
    return [(e["logical_call"], e["attempt"]) for e in cell["ledger"] if e["route"] == "openai"]


def _drift_scenario(tmp_path: Path, when: dict[str, Any] | None) -> Path:
    """A drift of the structured answer (``final_result``'s arguments), on the provider's
    calls ``when`` says (every call when None)."""
    drift = {"type": "schema_drift", "target": "structured", "op": "rename", "path": "fee_eur"}
    rule: dict[str, Any] = {"name": "drift-pick", "match": {"provider": "openai"}, "fault": drift}
    if when is not None:
        rule["when"] = when
    doc = {
        "name": "drift-pick",
        "seed": 5,
        "rules": [rule],
        "expect": {"outcomes": ["retried", "controlled_error"], "max_attempts": 3},
    }
    path = tmp_path / "drift-pick.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


def test_the_correct_app_re_asks_once_after_an_invalid_answer_and_is_retried(
    tmp_path: Path,
) -> None:
    """The second provider call (the pick) comes back drifted; pydantic-ai sends it back with
    the validation error, the recorded re-ask answers validly: one logical call, two attempts,
    judged ``retried`` with the valid pick returned."""
    scenario = _drift_scenario(tmp_path, {"nth": 2})
    report = run_zoo_app(CORRECT, ["drift-pick"], tmp_path / "report", scenarios=[scenario])
    (cell,) = report["cells"]
    assert cell["verdict"]["kind"] == "retried", report["stdout"]
    assert _provider_attempts(cell) == [(1, 1), (2, 1), (2, 2)], cell["ledger"]
    assert cell["result"]["value"]["fee_eur"] == 240.0


def test_the_correct_app_re_asks_only_once_then_raises_its_declared_error(
    tmp_path: Path,
) -> None:
    scenario = _drift_scenario(tmp_path, None)
    report = run_zoo_app(CORRECT, ["drift-pick"], tmp_path / "report", scenarios=[scenario])
    (cell,) = report["cells"]
    assert cell["verdict"]["kind"] == "controlled_error", report["stdout"]
    assert cell["result"]["error"]["type"] == "fw_course_pick.app.AdvisorError"
    assert _provider_attempts(cell) == [(1, 1), (2, 1), (2, 2)], cell["ledger"]


@pytest.mark.slow
def test_framework_zoo_matrix_over_whole_derived_sets(tmp_path: Path) -> None:
    """The planted apps over their whole derived sets: each one's only uncontrolled cells are
    where its bug shows, and no cell is left unexercised."""
    problems: list[str] = []
    for planted in PLANTED:
        report = run_zoo_app(planted.app, None, tmp_path / planted.app)
        print(f"\n== {planted.app} (planted: {planted.verdict} via {planted.family})")
        for scenario, kinds in verdicts(report).items():
            print(f"  {scenario:<44} {' / '.join(kinds)}")
        problems += whole_set_problems(report, planted.app, planted)
    assert not problems, "\n".join(problems)
