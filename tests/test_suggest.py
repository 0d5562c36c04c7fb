"""'did you mean' for mistyped scenario names, fault types and fault fields, where users meet
them: scenario files (``faultkit scenarios validate``), catalogue names, inline rules and the
proxy's fault header."""

from __future__ import annotations

from pathlib import Path

import pytest

from faultkit import catalogue
from faultkit.doors.proxy.headers import HeaderError, header_rules
from faultkit.errors import ScenarioError
from faultkit.scenario import Scenario
from faultkit.session import FaultkitSession
from faultkit.suggest import closest, did_you_mean


def test_close_names_are_offered_and_unrelated_ones_are_not() -> None:
    assert closest("429-brust", ["429-burst", "529-overload"]) == "429-burst"
    assert closest("latncy_ms", ["type", "latency_ms", "jitter_ms"]) == "latency_ms"
    assert closest("zzzz", ["429-burst", "529-overload"]) is None
    assert closest(None, ["latency"]) is None
    assert did_you_mean("http_eror", ["http_error", "latency"]) == "did you mean 'http_error'? "
    assert did_you_mean("zzzz", ["http_error"]) == ""


def test_a_scenario_file_with_typos_gets_suggestions(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        "name: bad\nseed: 1\nrules:\n"
        "  - fault: {type: http_eror, status: 500}\n"
        "  - fault: {type: latency, latncy_ms: 5}\n"
    )
    with pytest.raises(ScenarioError) as info:
        Scenario.load(path)
    problems = info.value.problems
    assert any(
        p.startswith(
            f"{path}:4: rules[0].fault.type: unknown fault type 'http_eror'; "
            "did you mean 'http_error'? known: "
        )
        for p in problems
    ), problems
    assert f"{path}:5: rules[1].fault.latncy_ms: unknown field; did you mean 'latency_ms'?" in (
        problems
    )


def test_an_unknown_scenario_name_suggests_the_closest(tmp_path: Path) -> None:
    (tmp_path / "429-burst.yaml").write_text("name: 429-burst\nseed: 1\nrules: []\n")
    with pytest.raises(ScenarioError) as info:
        catalogue.resolve("429-brust", dirs=[tmp_path])
    assert "did you mean '429-burst'? available: 429-burst" in info.value.problems[0]
    with pytest.raises(ScenarioError) as info:
        catalogue.resolve("zzzz", dirs=[tmp_path])
    assert "did you mean" not in info.value.problems[0]


def test_inline_rules_and_the_fault_header_suggest_too() -> None:
    with pytest.raises(ScenarioError) as info:
        FaultkitSession().inject({"type": "latency", "latncy_ms": 5})
    assert "inject: fault.latncy_ms: unknown field; did you mean 'latency_ms'?" in (
        info.value.problems
    )
    with pytest.raises(HeaderError, match="did you mean 'http_error'"):
        header_rules(('{"type": "http_eror", "status": 500}',))


def test_every_scenario_model_suggests_its_own_fields(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        "name: bad\nsede: 1\nrules:\n"
        "  - mtach: {route: openai}\n"
        "    when: {nht: 2}\n"
        "    fault: {type: latency, latency_ms: 5}\n"
        "  - match: {rout: openai}\n"
        "    fault: {type: latency, latency_ms: 5}\n"
        "expect: {max_attempt: 3, zzzz: 1}\n"
    )
    with pytest.raises(ScenarioError) as info:
        Scenario.load(path)
    assert sorted(p.removeprefix(f"{path}:") for p in info.value.problems) == [
        "2: sede: unknown field; did you mean 'seed'?",
        "4: rules[0].mtach: unknown field; did you mean 'match'?",
        "5: rules[0].when.nht: unknown field; did you mean 'nth'?",
        "7: rules[1].match.rout: unknown field; did you mean 'route'?",
        "9: expect.max_attempt: unknown field; did you mean 'max_attempts'?",
        "9: expect.zzzz: unknown field",
    ]
