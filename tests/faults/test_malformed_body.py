"""malformed_body: invalid or truncated JSON, a gateway HTML page, an empty body."""

from __future__ import annotations

import json
import random

import openai
import pytest
from _fault_samples import openai_client, real_setup
from pydantic import ValidationError

from faultkit.faults.base import FaultContext
from faultkit.faults.malformed_body import MalformedBody
from faultkit.formats.sse import parse_events
from faultkit.plan import Close, Plan, SendHead

OPENAI_STREAM = "pydantic-ai__test_run_stream_sync_streams_real_model.yaml"
OPENAI_JSON = "pydantic-ai__test_request_simple_usage.yaml"


def loads_fails(data: bytes | str) -> bool:
    try:
        json.loads(data)
    except ValueError:
        return True
    return False


def openai_sdk_result(plan: Plan) -> object:
    """What ``chat.completions.create`` returns (or raises) when the server answers ``plan``."""
    return openai_client(plan).chat.completions.create(model="gpt-4o-mini", messages=[])


# -- invalid_json -----------------------------------------------------------------------------
def test_invalid_json_corrupts_one_separator_and_keeps_the_length() -> None:
    plan, ctx = real_setup(OPENAI_JSON)
    body = plan.body_bytes()
    new, alterations = MalformedBody(kind="invalid_json").apply(plan, ctx)
    broken = new.body_bytes()
    assert len(broken) == len(body)
    diff = [i for i in range(len(body)) if body[i] != broken[i]]
    assert len(diff) == 1 and broken[diff[0] : diff[0] + 1] == b";"
    assert body[diff[0] : diff[0] + 1] in (b",", b":")
    assert loads_fails(broken)
    assert (alterations[0].path, alterations[0].action) == (f"response.body[{diff[0]}]", "replaced")
    assert new.head == plan.head


def test_invalid_json_position_is_seeded() -> None:
    plan, ctx = real_setup(OPENAI_JSON)
    fault = MalformedBody(kind="invalid_json")
    assert fault.apply(plan, ctx) == fault.apply(*real_setup(OPENAI_JSON))
    positions = {
        fault.apply(*real_setup(OPENAI_JSON, seed=s)).alterations[0].path for s in range(6)
    }
    assert len(positions) > 1


def test_invalid_json_never_touches_separators_inside_strings() -> None:
    body = b'{"text": "a, b: c", "n": 1}'
    plan = Plan(
        actions=(
            SendHead(head={"status": 200}),
            Plan(actions=()).with_body(body).actions[0],
            Close(),
        )
    )
    _, ctx = real_setup(OPENAI_JSON)
    for seed in range(10):
        new, _ = MalformedBody(kind="invalid_json").apply(
            plan, FaultContext(ctx.request, ctx.format, random.Random(seed))
        )
        assert b'"a, b: c"' in new.body_bytes()
        assert loads_fails(new.body_bytes())


def test_invalid_json_makes_the_sdk_raise_json_decode_error() -> None:
    plan, ctx = real_setup(OPENAI_JSON)
    new, _ = MalformedBody(kind="invalid_json").apply(plan, ctx)
    with pytest.raises(json.JSONDecodeError):
        openai_sdk_result(new)


# -- truncated_json ---------------------------------------------------------------------------
def test_truncated_json_keeps_the_given_fraction() -> None:
    plan, ctx = real_setup(OPENAI_JSON)
    body = plan.body_bytes()
    new, alterations = MalformedBody(kind="truncated_json", truncate_at=0.5).apply(plan, ctx)
    assert new.body_bytes() == body[: len(body) // 2]
    assert loads_fails(new.body_bytes())
    assert alterations[0].action == "truncated"
    assert (alterations[0].original, alterations[0].value) == (len(body), len(body) // 2)
    assert isinstance(new.actions[-1], Close)


def test_truncated_json_default_cut_is_drawn_from_the_seed() -> None:
    fault = MalformedBody(kind="truncated_json")
    assert fault.apply(*real_setup(OPENAI_JSON, 4)) == fault.apply(*real_setup(OPENAI_JSON, 4))
    cuts = {fault.apply(*real_setup(OPENAI_JSON, s)).alterations[0].value for s in range(6)}
    assert len(cuts) > 1


def test_truncated_json_on_a_stream_breaks_one_event_and_keeps_framing() -> None:
    plan, ctx = real_setup(OPENAI_STREAM)
    events = plan.events()
    new, alterations = MalformedBody(kind="truncated_json", truncate_at=0.3).apply(plan, ctx)
    after = parse_events(new.body_bytes())
    assert len(after) == len(events)
    changed = [i for i, (a, b) in enumerate(zip(events, after, strict=True)) if a.data != b.data]
    assert len(changed) == 1
    i = changed[0]
    assert events[i].data.startswith(after[i].data)  # type: ignore[union-attr]
    assert loads_fails(after[i].data or "")
    assert alterations[0].path == f"response.events[{i}].data"
    assert not events[i].is_done_sentinel


def test_invalid_json_on_a_stream_breaks_one_event() -> None:
    plan, ctx = real_setup(OPENAI_STREAM)
    new, alterations = MalformedBody(kind="invalid_json").apply(plan, ctx)
    broken = [e for e in new.events() if e.data != "[DONE]" and e.json() is None]
    assert len(broken) == 1
    assert alterations[0].value == ";"


# -- html_200 ---------------------------------------------------------------------------------
def test_html_200_is_a_gateway_page_on_a_200() -> None:
    fault = MalformedBody(kind="html_200")
    assert fault.needs_source is False
    plan, ctx = real_setup(OPENAI_STREAM)
    new, alterations = fault.apply(plan, ctx)
    assert new.head is not None and new.head.status == 200
    assert new.head.header("content-type").startswith("text/html")  # type: ignore[union-attr]
    assert new.head.header("server") == "cloudflare"
    body = new.body_bytes().decode()
    assert "api.openai.com | 502: Bad gateway" in body and "Error code 502" in body
    assert new.head.header("cf-ray").split("-")[0] in body  # type: ignore[union-attr]
    assert new.events() == []
    assert alterations[0].original == {"status": 200, "bytes": len(plan.body_bytes())}


def test_html_200_makes_the_openai_sdk_return_a_string() -> None:
    new, _ = MalformedBody(kind="html_200").apply(*real_setup(OPENAI_JSON))
    result = openai_sdk_result(new)
    assert isinstance(result, str) and "Bad gateway" in result


def test_html_with_status_and_nginx_page() -> None:
    new, _ = MalformedBody(kind="html_200", status=503, page="nginx").apply(
        Plan(actions=()), real_setup(OPENAI_JSON)[1]
    )
    assert new.head.status == 503  # type: ignore[union-attr]
    assert b"<title>503 Service Unavailable</title>" in new.body_bytes()
    assert b"<hr><center>nginx</center>\r\n" in new.body_bytes()
    with pytest.raises(openai.InternalServerError):
        openai_sdk_result(new)


# -- empty_body -------------------------------------------------------------------------------
def test_empty_body_keeps_the_head() -> None:
    plan, ctx = real_setup(OPENAI_JSON)
    new, alterations = MalformedBody(kind="empty_body").apply(plan, ctx)
    assert [a.kind for a in new.actions] == ["head", "close"]
    assert new.head == plan.head
    assert alterations[0].original == len(plan.body_bytes())
    with pytest.raises(json.JSONDecodeError):
        openai_sdk_result(new)


def test_status_override_applies_to_body_kinds() -> None:
    new, _ = MalformedBody(kind="empty_body", status=502).apply(*real_setup(OPENAI_STREAM))
    assert new.head.status == 502 and new.head.reason == "Bad Gateway"  # type: ignore[union-attr]
    assert new.body_bytes() == b""


def test_scenario_without_body_to_break_is_unchanged() -> None:
    plan = Plan(actions=(SendHead(head={"status": 204}), Close()))
    _, ctx = real_setup(OPENAI_JSON)
    assert MalformedBody(kind="truncated_json").apply(plan, ctx) == (plan, [])


@pytest.mark.parametrize(
    "params",
    [
        {"kind": "garbled"},
        {},
        {"kind": "truncated_json", "truncate_at": 1.0},
        {"kind": "truncated_json", "truncate_at": 0},
        {"kind": "html_200", "status": 700},
        {"kind": "html_200", "page": "apache"},
    ],
)
def test_invalid_parameters_are_rejected(params: dict) -> None:
    with pytest.raises(ValidationError):
        MalformedBody(**params)
