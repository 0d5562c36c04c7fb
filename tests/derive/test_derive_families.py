"""derive_scenarios: which families a set of cassettes gets, and what each one targets.

The cassettes: the bundled support assistant's (OpenAI streams with a tool call and a
structured answer, the orders tool), and three recorded here with real clients
(``record_cassettes.py``): an OpenAI-compatible server at 127.0.0.1:8123 answering JSON, with a
weather tool on another host; an Anthropic stream; an MCP tool.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from faultkit.cassettes import CassetteStore, load_cassette
from faultkit.derive import derive, derive_scenarios
from faultkit.derive.families import MAX_WAIT_MS
from faultkit.derive.shapes import route_of
from faultkit.engine import Engine
from faultkit.errors import CassetteError
from faultkit.formats.detect import request_streams
from faultkit.oracle.checks.truncated_output import cut_of
from faultkit.scenario import Scenario

HERE = Path(__file__).resolve().parent
CASSETTES = HERE / "cassettes"
TRIP = CASSETTES / "trip_desk.yaml"
ANTHROPIC = CASSETTES / "anthropic_stream.yaml"
MCP = CASSETTES / "mcp_kb.yaml"
SUPPORT = HERE.parent.parent / "cassettes" / "support"
REPO_REAL = HERE.parent / "cassettes-real"
SUPPORT_CASES = [
    SUPPORT / "orders.yaml",
    SUPPORT / "openai_order_status_stream.yaml",
    SUPPORT / "openai_order_status_stream_fallback.yaml",
]
STREAM_FAMILIES = {"truncated-stream", "mid-stream-stall"}


def by_name(scenarios: list[Scenario]) -> dict[str, Scenario]:
    return {s.name: s for s in scenarios}


def matches(scenario: Scenario) -> list[dict[str, Any]]:
    return [r.match.model_dump(exclude_defaults=True) for r in scenario.rules]


def test_support_cassettes_get_every_family_for_streams_tool_calls_and_the_orders_tool() -> None:
    names = [s.name for s in derive_scenarios(SUPPORT_CASES)]
    assert names == [
        "429-burst",
        "quota-exhausted",
        "529-overload",
        "500-server-error",
        "malformed-json-output",
        "html-gateway-error",
        "connection-reset",
        "provider-slowdown",
        "truncated-stream",
        "mid-stream-stall",
        "tool-call-invalid-arguments",
        "tool-call-unknown-tool",
        "schema-drift-structured-output",
        "token-limit",
        "refusal",
        "tool-timeout.orders.internal",
        "tool-error.orders.internal",
        "partial-tool-data.orders.internal",
    ]


def test_stream_faults_count_among_streamed_openai_calls_only() -> None:
    found = by_name(derive_scenarios(SUPPORT_CASES))
    for family in STREAM_FAMILIES:
        assert matches(found[family]) == [{"provider": "openai", "stream": True}]
    assert found["truncated-stream"].rules[0].fault.type == "broken_sse"
    assert found["truncated-stream"].rules[0].fault.kind == "cut_mid_event"


def test_partial_data_drops_fields_the_tool_really_returned_and_the_model_stated() -> None:
    scenario = by_name(derive_scenarios(SUPPORT_CASES))["partial-tool-data.orders.internal"]
    (rule,) = scenario.rules
    assert rule.match.route == "orders.internal" and rule.match.kind == "tool"
    recorded = load_cassette(SUPPORT / "orders.yaml").interactions[0].response.body
    answer = json.loads(recorded)
    assert rule.fault.fields and all(f in answer for f in rule.fault.fields)
    assert "id" not in rule.fault.fields  # the order number the app asked with is no fact


def test_a_local_openai_compatible_server_is_openai_and_its_host_is_no_tool_route() -> None:
    found = by_name(derive_scenarios([TRIP]))
    assert set(found) == {
        "429-burst",
        "quota-exhausted",
        "529-overload",
        "500-server-error",
        "malformed-json-output",
        "html-gateway-error",
        "connection-reset",
        "provider-slowdown",
        "tool-call-invalid-arguments",
        "tool-call-unknown-tool",
        "schema-drift-structured-output",
        "token-limit",
        "refusal",
        "tool-timeout.weather.example",
        "tool-error.weather.example",
        "partial-tool-data.weather.example",
    }
    for name in ("429-burst", "tool-call-invalid-arguments", "schema-drift-structured-output"):
        assert matches(found[name]) == [{"provider": "openai"}]
    # Nothing streams: no stream family, and the slowdown has no first-token rule.
    assert [r.fault.type for r in found["provider-slowdown"].rules] == ["latency"]
    assert matches(found["tool-timeout.weather.example"]) == [
        {"route": "weather.example", "kind": "tool"}
    ]


def test_weather_facts_are_dropped_but_the_city_the_app_asked_for_is_not() -> None:
    scenario = by_name(derive_scenarios([TRIP]))["partial-tool-data.weather.example"]
    assert scenario.rules[0].fault.fields == ["temperature_c", "conditions"]


def test_structured_drift_renames_a_field_the_apps_schema_requires() -> None:
    drift = by_name(derive_scenarios([TRIP]))["schema-drift-structured-output"].rules[0].fault
    assert (drift.type, drift.target, drift.op, drift.path) == (
        "schema_drift",
        "structured",
        "rename",
        "city",
    )


def test_an_anthropic_stream_gets_its_own_error_shapes_and_no_openai_only_family() -> None:
    found = by_name(derive_scenarios([ANTHROPIC]))
    assert "quota-exhausted" not in found  # OpenAI's non-healing 429
    assert not any(n.startswith("tool-") for n in found)  # no tool call, no tool route
    overload = found["529-overload"].rules[0]
    assert (overload.match.provider, overload.fault.status) == ("anthropic", 529)
    cut = found["truncated-stream"].rules[0]
    # A real cut, not a missing message_stop (which leaves the answer whole: no false red).
    assert (cut.fault.kind, cut.match.stream) == ("cut_mid_event", True)


def test_an_mcp_tool_gets_is_error_with_partial_content_on_its_tool_calls_only() -> None:
    found = by_name(derive_scenarios([MCP]))
    assert sorted(found) == [
        "mcp-tool-error.kb.example",
        "partial-tool-data.kb.example",
        "tool-error.kb.example",
        "tool-timeout.kb.example",
    ]
    (rule,) = found["mcp-tool-error.kb.example"].rules
    assert rule.match.tool == "search_articles"
    assert rule.fault.is_error and rule.fault.fields == ["title", "season"]


def test_without_a_deadline_every_derived_fault_is_short_and_round_trips_through_yaml() -> None:
    scenarios = derive_scenarios([CASSETTES, *SUPPORT_CASES])
    assert len({s.name for s in scenarios}) == len(scenarios)
    for scenario in scenarios:
        assert Scenario.from_yaml(scenario.to_yaml()) == scenario
        assert "Derived from" in scenario.description
        for rule in scenario.rules:
            fault = rule.fault
            for waited in ("timeout_ms", "stall_ms"):
                assert getattr(fault, waited, 0) <= MAX_WAIT_MS
            assert getattr(fault, "latency_ms", 0) + getattr(fault, "jitter_ms", 0) <= 2000
            assert getattr(fault, "delay_ms", 0) <= 2000


def test_with_a_deadline_a_silent_tool_and_a_stalled_stream_outlast_it() -> None:
    """An app with no timeout of its own must still be waiting when the runner gives up at
    the deadline (plus 10%, at least 1 s), or the missing timeout never shows as a hang."""
    found = by_name(derive_scenarios([TRIP, ANTHROPIC], deadline_ms=6000))
    silences = [
        found["tool-timeout.weather.example"].rules[0].fault.timeout_ms,
        found["mid-stream-stall"].rules[0].fault.stall_ms,
    ]
    assert all(s > 6000 + 1000 for s in silences)
    assert "says nothing for 8 s" in " ".join(
        found["tool-timeout.weather.example"].description.split()
    )
    # Nothing else gets longer: the run stays seconds long.
    assert (
        found["provider-slowdown"]
        == by_name(derive_scenarios([TRIP, ANTHROPIC]))["provider-slowdown"]
    )


def test_same_cassettes_give_the_same_scenarios_in_the_same_order() -> None:
    first = [s.to_yaml() for s in derive_scenarios([CASSETTES])]
    again = [s.to_yaml() for s in derive_scenarios(sorted(CASSETTES.glob("*.yaml")))]
    loaded = [
        s.to_yaml() for s in derive_scenarios(map(load_cassette, sorted(CASSETTES.glob("*.yaml"))))
    ]
    assert first == again == loaded


def test_each_derived_scenario_says_what_it_targets_and_why() -> None:
    item = {d.scenario.name: d for d in derive([TRIP])}["tool-timeout.weather.example"]
    assert item.targets == "tool route weather.example"
    assert "trip_desk.yaml" in item.why


@pytest.mark.parametrize(
    ("write", "message"),
    [
        (None, "cassette file or directory not found"),
        ("interactions: [\n", "not a valid cassette"),
        ("", "cassette file is empty"),
    ],
)
def test_a_missing_or_corrupt_cassette_is_a_cassette_error_naming_it(
    tmp_path: Path, write: str | None, message: str
) -> None:
    path = tmp_path / "broken.yaml"
    if write is not None:
        path.write_text(write)
    with pytest.raises(CassetteError, match=message) as caught:
        derive_scenarios([path])
    assert str(path) in str(caught.value)


@pytest.mark.parametrize(
    "cassette",
    [ANTHROPIC, SUPPORT / "openai_order_status_stream.yaml"],
    ids=["anthropic", "openai"],
)
def test_the_derived_truncated_stream_is_a_cut_the_oracle_counts(cassette: Path) -> None:
    """The family expects a controlled SUT not to pass, so its fault must leave the answer
    incomplete by the oracle's own rule: dropping only Anthropic's ``message_stop`` (a whole
    answer) made a correct app that uses the answer a false red."""
    scenario = by_name(derive_scenarios([cassette]))["truncated-stream"]
    engine = Engine(scenario, source=CassetteStore([cassette], match_on=("method", "uri", "body")))
    request = next(
        i.request for i in load_cassette(cassette).interactions if request_streams(i.request)
    )
    selection = engine.select(request, route_of(request.url), 0.0)
    engine.plan(selection)
    assert selection.entry.faults, "the derived cut did not fire on the recorded stream"
    assert cut_of(selection.entry) is not None, selection.entry.faults


def test_token_limit_and_refusal_hit_the_first_answer_of_each_provider_that_answered() -> None:
    found = by_name(derive_scenarios([*SUPPORT_CASES, ANTHROPIC]))
    for name, fault in (("token-limit", "token_limit"), ("refusal", "refusal")):
        rules = found[name].rules
        assert [(r.match.provider, r.fault.type, r.when.nth) for r in rules] == [
            ("anthropic", fault, 1),
            ("openai", fault, 1),
        ]
        assert "answer(s) with text or tool calls" in found[name].description


def test_no_answer_recorded_no_token_limit_or_refusal() -> None:
    only_an_error = REPO_REAL / "pydantic-ai__test_openai_web_search_tool_model_not_supported.yaml"
    found = by_name(derive_scenarios([only_an_error]))
    assert "429-burst" in found
    assert "token-limit" not in found and "refusal" not in found


def test_gemini_recordings_get_the_provider_families_in_googles_terms() -> None:
    """Gemini is a provider like the others: its streams, function calls and structured
    answers get their families, matched by ``provider: google``, and its overload is the 503
    UNAVAILABLE Gemini sends (not Anthropic's 529)."""
    gemini = [
        HERE.parent.parent / "cassettes" / "gemini" / "capital_stream.yaml",
        REPO_REAL / "pydantic-ai__test_google_model_structured_output.yaml",
    ]
    found = by_name(derive_scenarios(gemini))
    assert {"truncated-stream", "tool-call-invalid-arguments", "token-limit"} <= set(found)
    assert "quota-exhausted" not in found  # only OpenAI has a 429 that never heals
    (rule,) = found["529-overload"].rules
    assert rule.match.provider == "google"
    assert rule.fault.params()["status"] == 503
    assert all(m.get("provider") == "google" for m in matches(found["truncated-stream"]))
