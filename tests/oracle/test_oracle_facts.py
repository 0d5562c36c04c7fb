"""The oracle reads what was actually sent, not what a fault that was replaced asked for."""

from __future__ import annotations

from faultkit.ledger import AppliedFault, LedgerEntry
from faultkit.oracle.facts import mcp_is_error, non_retryable_reason, retry_after_ms


def _entry(status: int | None, faults: list[AppliedFault], fmt: str = "json", **kw) -> LedgerEntry:
    return LedgerEntry(
        id=1,
        route="orders",
        method="GET",
        url="http://orders.internal/orders/1",
        format=fmt,
        logical_call=1,
        attempt=1,
        arrival_ms=0.0,
        status=status,
        faults=faults,
        **kw,
    )


def _error(**params) -> AppliedFault:
    return AppliedFault(rule="r", type="http_error", params={"type": "http_error", **params})


def test_retry_after_comes_from_the_response_sent() -> None:
    replaced = _entry(None, [_error(status=429, retry_after_s=2)], retry_after_ms=None)
    replaced.status = 504  # a later timeout/gateway fault answered instead
    assert retry_after_ms(replaced) is None
    sent = _entry(429, [_error(status=429, retry_after_s=2)], retry_after_ms=2000.0)
    assert retry_after_ms(sent) == 2000.0


def test_a_quota_error_the_client_got_is_a_reason_to_stop_whoever_sent_it() -> None:
    """Injected or recorded: the ledger's error_code (read off the body sent) decides."""
    quota = _error(status=429, error_type="insufficient_quota")
    code = "insufficient_quota"
    assert non_retryable_reason(_entry(429, [quota], ending="completed", error_code=code))
    assert non_retryable_reason(_entry(429, [], ending="completed", error_code=code))
    # Replaced by a later fault's 503: the body sent says nothing of a quota.
    assert non_retryable_reason(_entry(503, [quota], ending="completed")) is None
    assert non_retryable_reason(_entry(429, [], ending="completed", should_retry=False))


def test_a_quota_code_in_a_body_the_client_never_got_is_no_reason() -> None:
    quota = _error(status=429, error_type="insufficient_quota")
    code = "insufficient_quota"
    assert non_retryable_reason(_entry(429, [quota], ending="reset", error_code=code)) is None


def test_is_error_param_counts_only_when_the_fault_set_it() -> None:
    on_json = AppliedFault(rule="r", type="partial_tool_data", params={"is_error": True})
    assert not mcp_is_error(_entry(200, [on_json]))
