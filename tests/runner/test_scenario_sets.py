"""The opt-in bundled sets (``--scenarios red-team``, ``--scenarios model-behaviour``): what a
model or an attacker does, run on demand, and never part of the default catalogue."""

from __future__ import annotations

import json

import pytest

from faultkit.catalogue import SETS, catalogue, set_dir
from faultkit.cli import main

RED_TEAM = {
    "answer-injection": "crash",
    "tool-injection": "untraceable",
    "tool-exfiltration-link": "untraceable",
    "tool-script": "untraceable",
    "lying-tool-numbers": "ungrounded_answer",
    "lying-tool-dates": "ungrounded_answer",
}
MODEL_BEHAVIOUR = {
    "token-limit": "crash",
    "refusal": "crash",
    "content-filter": "crash",
    "empty-answer": "crash",
    "tool-loop": "crash",
}


def test_the_sets_are_bundled_and_left_out_of_the_catalogue() -> None:
    names = {s.name for _, s in catalogue().scenarios}
    assert not names & (set(RED_TEAM) | set(MODEL_BEHAVIOUR))
    for word in SETS:
        assert set_dir(word) is not None


def test_scenarios_list_names_a_set(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scenarios", "list", "red-team", "--json"]) == 0
    listed = {row["name"]: row["faults"] for row in json.loads(capsys.readouterr().out)}
    assert set(listed) == set(RED_TEAM)
    assert listed["lying-tool-dates"] == ["lying_tool"] and listed["tool-script"] == ["injection"]


def test_the_example_apps_under_both_sets(capsys: pytest.CaptureFixture[str]) -> None:
    """The robust app stays controlled (it validates the model's answer and answers from its
    tool's data); the naive app gets the verdicts each scenario is there to catch."""
    sets = ["--scenarios", "red-team", "--scenarios", "model-behaviour"]
    code = main(["run", *sets, "--no-report", "--json", "-q"])
    report = json.loads(capsys.readouterr().out)
    assert code == 0, report
    kinds = {(c["target"], c["scenario"]): c["verdict"]["kind"] for c in report["cells"]}
    expected = {**RED_TEAM, **MODEL_BEHAVIOUR}
    assert {s: kinds[("naive", s)] for s in expected} == expected
    robust = {s: kinds[("robust", s)] for s in expected}
    assert all(k in ("pass", "retried", "fallback", "controlled_error") for k in robust.values())
    assert robust["answer-injection"] == "controlled_error"  # every answer carries the link
    assert robust["token-limit"] == "retried"
    assert robust["tool-loop"] == "controlled_error"  # its own step budget stops it
