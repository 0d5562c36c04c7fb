"""Provider error bodies and headers: the exact shapes SDKs and applications read."""

from __future__ import annotations

import json
import random
import re
from datetime import datetime

import pytest

from faultkit.formats.detect import WireFormat
from faultkit.formats.errors import (
    error_response,
    go_duration,
    request_id,
    rfc3339,
    seconds_header,
)

OPENAI = WireFormat.openai_chat
ANTHROPIC = WireFormat.anthropic_messages


def build(fmt: WireFormat, status: int, seed: int = 1, **kw):  # type: ignore[no-untyped-def]
    head, body = error_response(
        fmt, status, model=kw.pop("model", None), rng=random.Random(seed), **kw
    )
    return head, json.loads(body), body


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0.12, "120ms"),
        (0.0, "0ms"),
        (1, "1s"),
        (9.998, "9.998s"),
        (20, "20s"),
        (360, "6m0s"),
        (90.5, "1m30.5s"),
        (3723, "1h2m3s"),
    ],
)
def test_go_duration_matches_openai_reset_headers(seconds: float, text: str) -> None:
    assert go_duration(seconds) == text


def test_rfc3339_and_seconds_header() -> None:
    assert rfc3339(0) == "1970-01-01T00:00:00Z"
    assert rfc3339(1753783173) == "2025-07-29T09:59:33Z"
    assert seconds_header(1.0) == "1"
    assert seconds_header(0.5) == "0.5"
    assert seconds_header(3600) == "3600"


def test_request_ids_have_each_providers_shape_and_come_from_the_rng() -> None:
    assert re.fullmatch(r"req_[0-9a-f]{32}", request_id("openai", random.Random(1)))
    anthropic_id = request_id("anthropic", random.Random(1))
    assert re.fullmatch(r"req_011C[1-9A-HJ-NP-Za-km-z]{20}", anthropic_id)
    assert request_id("anthropic", random.Random(1)) == anthropic_id
    assert request_id("anthropic", random.Random(2)) != anthropic_id


def test_openai_429_body_headers_and_message() -> None:
    head, payload, raw = build(OPENAI, 429, model="gpt-4o-mini", retry_after_s=1)
    assert head.status == 429 and head.reason == "Too Many Requests"
    error = payload["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["code"] == "rate_limit_exceeded" and error["type"] == "tokens"
    assert error["param"] is None
    assert error["message"].startswith("Rate limit reached for gpt-4o-mini in organization org-")
    assert "Please try again in 1s." in error["message"]
    assert head.header("retry-after") == "1"
    assert head.header("retry-after-ms") is None
    assert re.fullmatch(r"req_[0-9a-f]{32}", head.header("x-request-id") or "")
    assert head.header("x-ratelimit-reset-tokens") == "1s"
    for name in ("limit", "remaining"):
        for what in ("requests", "tokens"):
            assert head.header(f"x-ratelimit-{name}-{what}").isdigit()  # type: ignore[union-attr]
    assert re.fullmatch(r"\d+(\.\d+)?m?s", head.header("x-ratelimit-reset-requests") or "")
    assert head.header("openai-processing-ms").isdigit()  # type: ignore[union-attr]
    assert raw.startswith(b'{\n  "error": {\n')  # OpenAI pretty-prints its error bodies


def test_openai_retry_after_ms_sets_header_and_hint() -> None:
    head, payload, _ = build(OPENAI, 429, retry_after_ms=250)
    assert head.header("retry-after-ms") == "250"
    assert head.header("retry-after") is None
    assert head.header("x-ratelimit-reset-tokens") == "250ms"
    assert "Please try again in 250ms." in payload["error"]["message"]


def test_openai_without_retry_hint_draws_one_deterministically() -> None:
    a = build(OPENAI, 429, seed=3)[0].header("x-ratelimit-reset-tokens")
    assert a == build(OPENAI, 429, seed=3)[0].header("x-ratelimit-reset-tokens")
    others = {build(OPENAI, 429, seed=s)[0].header("x-ratelimit-reset-tokens") for s in range(5)}
    assert len(others) > 1


@pytest.mark.parametrize(
    ("status", "type_", "code"),
    [
        (400, "invalid_request_error", "context_length_exceeded"),
        (401, "invalid_request_error", "invalid_api_key"),
        (404, "invalid_request_error", "model_not_found"),
        (500, "server_error", None),
        (502, "cf_bad_gateway", 502),
        (503, "service_unavailable_error", "server_is_overloaded"),
        (504, "server_error", None),
        (529, "server_error", None),
        (418, "invalid_request_error", None),
    ],
)
def test_openai_status_defaults(status: int, type_: str, code: str | int | None) -> None:
    head, payload, _ = build(OPENAI, status, model="gpt-4o")
    assert head.status == status
    assert payload["error"]["type"] == type_
    assert payload["error"]["code"] == code
    assert payload["error"]["message"]
    assert head.header("x-ratelimit-limit-tokens") is None  # only on 429


def test_openai_model_not_found_names_the_requested_model() -> None:
    _, payload, _ = build(OPENAI, 404, model="gpt-9")
    assert payload["error"]["message"] == (
        "The model `gpt-9` does not exist or you do not have access to it."
    )


def test_openai_error_type_override_known_and_verbatim() -> None:
    _, quota, _ = build(OPENAI, 429, error_type="insufficient_quota")
    assert quota["error"]["type"] == quota["error"]["code"] == "insufficient_quota"
    assert quota["error"]["message"].startswith("You exceeded your current quota")
    _, custom, _ = build(OPENAI, 400, error_type="invalid_prompt", message="nope")
    assert custom["error"] == {
        "message": "nope",
        "type": "invalid_prompt",
        "param": None,
        "code": None,
    }


def test_responses_api_uses_openai_shapes() -> None:
    head, payload, _ = build(WireFormat.openai_responses, 429)
    assert payload["error"]["code"] == "rate_limit_exceeded"
    assert head.header("x-request-id")


def test_anthropic_529_is_overloaded_and_retryable() -> None:
    head, payload, raw = build(ANTHROPIC, 529)
    assert payload["type"] == "error"
    assert payload["error"] == {"type": "overloaded_error", "message": "Overloaded"}
    assert payload["request_id"] == head.header("request-id")
    assert re.fullmatch(r"req_011C\w{20}", payload["request_id"])
    assert head.header("x-should-retry") == "true"
    assert head.header("content-type") == "application/json"
    assert b" " not in raw.split(b'"message"')[0]  # compact JSON, like the API


def test_anthropic_should_retry_can_be_overridden() -> None:
    head, _, _ = build(ANTHROPIC, 529, should_retry=False)
    assert head.header("x-should-retry") == "false"
    head, _, _ = build(ANTHROPIC, 500)
    assert head.header("x-should-retry") is None


@pytest.mark.parametrize(
    ("status", "type_"),
    [
        (400, "invalid_request_error"),
        (401, "authentication_error"),
        (402, "billing_error"),
        (403, "permission_error"),
        (404, "not_found_error"),
        (413, "request_too_large"),
        (429, "rate_limit_error"),
        (500, "api_error"),
        (503, "api_error"),
        (504, "timeout_error"),
        (422, "invalid_request_error"),
    ],
)
def test_anthropic_status_defaults(status: int, type_: str) -> None:
    _, payload, _ = build(ANTHROPIC, status, model="claude-x")
    assert payload["error"]["type"] == type_
    assert payload["error"]["message"]


def test_anthropic_not_found_names_the_model_like_the_real_api() -> None:
    _, payload, _ = build(ANTHROPIC, 404, model="claude-does-not-exist")
    assert payload["error"]["message"] == "model: claude-does-not-exist"


def test_anthropic_429_rate_limit_headers_with_and_without_clock() -> None:
    now = 1753783173.0
    head, _, _ = build(ANTHROPIC, 429, retry_after_s=30, now_s=now)
    assert head.header("retry-after") == "30"
    assert head.header("anthropic-ratelimit-input-tokens-remaining") == "0"
    reset = head.header("anthropic-ratelimit-input-tokens-reset") or ""
    assert reset == rfc3339(now + 30)
    for what in ("requests", "tokens", "input-tokens", "output-tokens"):
        for part in ("limit", "remaining"):
            assert head.header(f"anthropic-ratelimit-{what}-{part}").isdigit()  # type: ignore[union-attr]
        parsed = datetime.strptime(
            head.header(f"anthropic-ratelimit-{what}-reset") or "", "%Y-%m-%dT%H:%M:%SZ"
        )
        assert parsed.year == 2025
    unclocked, _, _ = build(ANTHROPIC, 429)
    assert unclocked.header("anthropic-ratelimit-tokens-limit")
    assert unclocked.header("anthropic-ratelimit-tokens-reset") is None


def test_anthropic_spend_limit_sets_details_error_code() -> None:
    _, payload, _ = build(ANTHROPIC, 429, error_type="enforced_spend_limit_reached")
    assert payload["error"]["type"] == "rate_limit_error"
    assert payload["error"]["details"] == {"error_code": "enforced_spend_limit_reached"}


@pytest.mark.parametrize("fmt", [WireFormat.mcp, WireFormat.json, WireFormat.other])
def test_tools_get_a_plain_json_error(fmt: WireFormat) -> None:
    head, payload, _ = build(fmt, 503, retry_after_s=2)
    assert head.status == 503
    assert payload == {
        "error": {"code": 503, "type": "service_unavailable", "message": "Service Unavailable"}
    }
    assert head.header("retry-after") == "2"
    assert head.header("x-request-id")


def test_same_seed_same_bytes_different_seed_different_ids() -> None:
    a = error_response(OPENAI, 429, model="m", rng=random.Random(5))
    b = error_response(OPENAI, 429, model="m", rng=random.Random(5))
    c = error_response(OPENAI, 429, model="m", rng=random.Random(6))
    assert a == b
    assert a[0].header("x-request-id") != c[0].header("x-request-id")
