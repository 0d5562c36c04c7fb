"""The scenario model: what a rule matches, which calls it picks, and located errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from faultkit.errors import ScenarioError
from faultkit.exchange import Request
from faultkit.scenario import Match, Scenario, When, scenario_json_schema

FULL = """\
name: full-example
description: Every field a user can write.
seed: 42
rules:
  - name: slow-openai
    match:
      route: open*
      method: post
      path: /v1/chat/*
      provider: openai
      kind: provider
      stream: false
      format: openai_chat
      model: gpt-4o*
      header: {x-tenant: acme-*}
    when:
      probability: 0.5
      calls: "2-4"
      after: 1
      every: 2
      window_ms: [0, 60000]
    fault: {type: latency, latency_ms: 250, jitter_ms: 50}
  - match: {route: orders, kind: tool, tool: "12*"}
    when: {nth: 3}
    fault: {type: latency, latency_ms: 10}
expect:
  outcomes: [retried, controlled_error]
  max_attempts: 4
  deadline_ms: 30000
  fallback_routes: [anthropic]
  fallback_models: [gpt-4o-mini]
"""


def problems_of(text: str) -> list[str]:
    with pytest.raises(ScenarioError) as info:
        Scenario.from_yaml(text, "s.yaml")
    return info.value.problems


def chat_request(**headers: str) -> Request:
    body = json.dumps({"model": "gpt-4o-2024-08-06", "messages": []}).encode()
    return Request(
        method="POST",
        url="https://api.openai.com/v1/chat/completions",
        headers=tuple(headers.items()),
        body=body,
    )


# -- loading ------------------------------------------------------------------------------


def test_full_scenario_loads_with_every_field() -> None:
    scenario = Scenario.from_yaml(FULL)
    assert scenario.name == "full-example"
    assert scenario.seed == 42
    first, second = scenario.rules
    assert first.match.header == {"x-tenant": "acme-*"}
    assert (first.match.kind, first.match.stream) == ("provider", False)
    assert second.match.kind == "tool"
    assert first.when.call_range() == (2, 4)
    assert first.when.window_ms == (0, 60000)
    assert first.fault.type == "latency"
    assert first.fault.params()["latency_ms"] == 250
    assert second.when.nth == 3
    assert scenario.expect.outcomes == ["retried", "controlled_error"]
    assert scenario.expect.fallback_models == ["gpt-4o-mini"]


def test_to_yaml_round_trips() -> None:
    scenario = Scenario.from_yaml(FULL)
    assert Scenario.from_yaml(scenario.to_yaml()) == scenario


def test_defaults_expect_every_controlled_outcome() -> None:
    scenario = Scenario.from_yaml("name: minimal\n")
    assert scenario.rules == []
    assert set(scenario.expect.outcomes) == {"pass", "retried", "fallback", "controlled_error"}
    assert scenario.expect.max_attempts == 3


def test_rule_labels_fall_back_to_position() -> None:
    scenario = Scenario.from_yaml(FULL)
    assert scenario.rule_label(0) == "slow-openai"
    assert scenario.rule_label(1) == "rule-2"


def test_load_reads_a_file(tmp_path: Path) -> None:
    path = tmp_path / "x.yaml"
    path.write_text(FULL, encoding="utf-8")
    assert Scenario.load(path).name == "full-example"


# -- located errors -----------------------------------------------------------------------


def test_unknown_fault_type_names_line_field_and_known_types() -> None:
    (problem,) = problems_of("name: x\nrules:\n  - fault:\n      type: nope\n")
    assert problem.startswith("s.yaml:4: rules[0].fault.type: unknown fault type 'nope'")
    assert "latency" in problem


def test_missing_fault_type_is_located() -> None:
    (problem,) = problems_of("name: x\nrules:\n  - fault:\n      latency_ms: 3\n")
    assert problem.startswith("s.yaml:3: rules[0].fault: a fault needs a 'type'")


def test_every_problem_is_reported_with_its_own_line() -> None:
    text = (
        "name: x\n"
        "descrption: typo\n"
        "rules:\n"
        "  - when:\n"
        "      probability: 2\n"
        "    fault:\n"
        "      type: latency\n"
        "      latency_ms: -1\n"
        "      bogus: 1\n"
    )
    problems = problems_of(text)
    assert "s.yaml:2: descrption: unknown field; did you mean 'description'?" in problems
    assert any(p.startswith("s.yaml:5: rules[0].when.probability: ") for p in problems)
    assert any(p.startswith("s.yaml:8: rules[0].fault.latency_ms: ") for p in problems)
    assert "s.yaml:9: rules[0].fault.bogus: unknown field" in problems
    assert len(problems) == 4


def test_validator_messages_have_no_pydantic_prefix() -> None:
    (problem,) = problems_of(
        "name: x\nrules:\n  - when: {calls: '4-2'}\n    fault: {type: latency, latency_ms: 1}\n"
    )
    assert problem.startswith("s.yaml:3: rules[0].when.calls: range must start")
    assert "Value error" not in problem


@pytest.mark.parametrize(
    ("text", "line"),
    [("name: x\nrules: [\n", 3), ("name: x\n\tseed: 1\n", 2), ("name: a\n---\nname: b\n", 2)],
)
def test_broken_yaml_is_located(text: str, line: int) -> None:
    (problem,) = problems_of(text)
    assert problem.startswith(f"s.yaml:{line}: invalid YAML: ")


@pytest.mark.parametrize("text", ["", "- a\n", "just a string\n"])
def test_non_mapping_document_is_rejected(text: str) -> None:
    (problem,) = problems_of(text)
    assert problem == "s.yaml:1: a scenario must be a YAML mapping with name and rules"


def test_name_is_required_and_must_be_a_plain_identifier() -> None:
    assert problems_of("seed: 1\n") == ["s.yaml:1: name: Field required"]
    (problem,) = problems_of("seed: 1\nname: 'has space'\n")
    assert problem.startswith("s.yaml:2: name: ")


def test_python_tags_are_refused() -> None:
    (problem,) = problems_of("name: !!python/object:os.system x\n")
    assert "invalid YAML" in problem


def test_duplicate_rule_names_are_refused() -> None:
    text = (
        "name: x\nrules:\n"
        "  - {name: a, fault: {type: latency, latency_ms: 1}}\n"
        "  - {name: a, fault: {type: latency, latency_ms: 2}}\n"
    )
    (problem,) = problems_of(text)
    assert "rule names must be unique; repeated: a" in problem


def test_unknown_outcome_is_refused() -> None:
    (problem,) = problems_of("name: x\nexpect:\n  outcomes: [crash]\n")
    assert problem.startswith("s.yaml:3: expect.outcomes[0]: ")


def test_missing_file_is_a_scenario_error(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError) as info:
        Scenario.load(tmp_path / "nope.yaml")
    assert info.value.problems[0].startswith(f"{tmp_path / 'nope.yaml'}: cannot read: ")


def test_non_utf8_file_is_a_scenario_error(tmp_path: Path) -> None:
    path = tmp_path / "latin.yaml"
    path.write_bytes(b"name: caf\xe9\n")
    with pytest.raises(ScenarioError) as info:
        Scenario.load(path)
    assert info.value.problems == [f"{path}: not UTF-8 text"]


# -- when ---------------------------------------------------------------------------------


def picked(when: When, calls: range = range(1, 13)) -> list[int]:
    return [n for n in calls if when.selects(n, elapsed_ms=0)]


def test_when_picks_calls() -> None:
    assert picked(When()) == list(range(1, 13))
    assert picked(When(nth=3)) == [3]
    assert picked(When(calls="2-4")) == [2, 3, 4]
    assert picked(When(calls="5")) == [5]
    assert picked(When(after=10)) == [11, 12]
    assert picked(When(every=4)) == [4, 8, 12]
    assert picked(When(calls="2-9", every=3)) == [3, 6, 9]


def test_calls_accepts_a_bare_integer() -> None:
    scenario = Scenario.from_yaml(
        "name: x\nrules:\n  - when: {calls: 3}\n    fault: {type: latency, latency_ms: 1}\n"
    )
    assert scenario.rules[0].when.call_range() == (3, 3)


@pytest.mark.parametrize("value", ["0-2", "3-1", "a-b", "1,2", True, 1.5])
def test_bad_call_ranges_are_refused(value: object) -> None:
    with pytest.raises(ValueError):
        When(calls=value)  # type: ignore[arg-type]


def test_window_is_half_open() -> None:
    when = When(window_ms=(100, 200))
    assert not when.selects(1, elapsed_ms=99.9)
    assert when.selects(1, elapsed_ms=100)
    assert not when.selects(1, elapsed_ms=200)
    with pytest.raises(ValueError):
        When(window_ms=(200, 100))


# -- match --------------------------------------------------------------------------------


def test_empty_match_matches_everything() -> None:
    assert Match().matches(chat_request(), route="anything")


@pytest.mark.parametrize(
    ("match", "expected"),
    [
        (Match(route="open*"), True),
        (Match(route="anthropic"), False),
        (Match(method="post"), True),
        (Match(method="GET"), False),
        (Match(path="/v1/chat/*"), True),
        (Match(path="/v1/responses"), False),
        (Match(provider="openai"), True),
        (Match(provider="anthropic"), False),
        (Match(format="openai_chat"), True),
        (Match(format="mcp"), False),
        (Match(model="gpt-4o*"), True),
        (Match(model="claude*"), False),
        (Match(header={"x-tenant": "acme-*"}), True),
        (Match(header={"x-tenant": "other"}), False),
        (Match(header={"x-missing": "*"}), False),
        (Match(tool="*"), False),  # a provider call is not a tool call
        (Match(kind="provider"), True),
        (Match(kind="tool"), False),
        (Match(stream=False), True),
        (Match(stream=True), False),
    ],
)
def test_match_fields(match: Match, expected: bool) -> None:
    assert match.matches(chat_request(**{"X-Tenant": "acme-eu"}), route="openai") is expected


def test_match_tool_on_plain_http_tool() -> None:
    request = Request(method="GET", url="http://orders.internal/orders/1234")
    assert Match(route="orders", tool="12*").matches(request, route="orders")
    assert not Match(tool="99*").matches(request, route="orders")
    assert Match(kind="tool").matches(request, route="orders")
    assert not Match(kind="provider").matches(request, route="orders")


def test_match_route_through_an_alias() -> None:
    aliases = {"orders": ("orders.*", "legacy-orders")}
    request = Request(method="GET", url="http://orders.eu/orders/1234")
    assert Match(route="orders").matches(request, "orders.eu", aliases)
    assert Match(route="orders").matches(request, "legacy-orders", aliases)
    assert not Match(route="orders").matches(request, "orders", aliases)
    assert Match(route="orders").matches(request, "orders")  # no aliases: a glob, as before


@pytest.mark.parametrize(
    "problem",
    [
        ("kind", "service", "Input should be 'provider' or 'tool'"),
        ("stream", "sometimes", "Input should be a valid boolean"),
        ("provider", "azure", "Input should be 'openai', 'anthropic' or 'google'"),
    ],
)
def test_meaning_fields_reject_unknown_values(problem: tuple[str, str, str]) -> None:
    field, value, message = problem
    (found,) = problems_of(
        f"name: x\nrules:\n  - match: {{{field}: {value}}}\n    fault: {{type: reset}}\n"
    )
    assert found.startswith(f"s.yaml:3: rules[0].match.{field}: {message}")


# -- schema -------------------------------------------------------------------------------


def test_json_schema_describes_the_file_format() -> None:
    schema = scenario_json_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["title"] == "faultkit scenario"
    assert set(schema["properties"]) == {"name", "description", "seed", "rules", "expect"}
    assert "latency" in json.dumps(schema)
