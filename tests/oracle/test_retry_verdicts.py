"""retried, retry_storm, retry_after_ignored and retried_non_retryable, each shown to fire and
to stay silent, on ledgers of a SUT that really retries through faultkit's in-process door."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from oracle_world import Answer, OrderLookupError, World, model_answer, rules, sleep_ms

from faultkit.ledger import AppliedFault, LedgerEntry
from faultkit.oracle import Contract
from faultkit.oracle.facts import backoff_reason

CONTRACT = Contract(output_model=Answer, error_types=[OrderLookupError], max_attempts=3)
# For a SUT that retries at once: an immediate in-process retry takes well under 1 ms, but a
# busy 2-core machine can pause a thread for tens of ms, which the default 50 ms minimum
# backoff would read as a backoff. 200 ms still tells "at once" from "waited".
AT_ONCE = CONTRACT.model_copy(update={"min_backoff_ms": 200})


def chat_503(calls: str | None = None) -> str:
    when = f", when: {{calls: '{calls}'}}" if calls else ""
    return f"{{match: {{route: openai}}, fault: {{type: http_error, status: 503}}{when}}}"


def retrying(
    attempts: int,
    backoff_ms: float,
    *,
    honour_retry_after: bool = False,
    give_up_on: Callable[[httpx.Response], bool] = lambda r: False,
):
    """A SUT that calls the model up to ``attempts`` times, waiting ``backoff_ms`` between
    attempts (or the server's retry-after when ``honour_retry_after``)."""

    def sut(world: World) -> Answer:
        for attempt in range(1, attempts + 1):
            response = world.chat()
            if response.status_code == 200:
                return Answer.model_validate(model_answer(response))
            if give_up_on(response) or attempt == attempts:
                raise OrderLookupError(f"model unavailable: HTTP {response.status_code}")
            wait = backoff_ms
            if honour_retry_after and "retry-after-ms" in response.headers:
                wait = max(wait, float(response.headers["retry-after-ms"]))
            sleep_ms(wait)
        raise AssertionError("unreachable")

    return sut


def test_retried_fires_for_bounded_retries_with_backoff() -> None:
    world = World(rules(chat_503("1-2")))
    verdict = world.run(retrying(3, 60), CONTRACT)
    assert verdict.kind == "retried"
    assert verdict.ok
    finding = verdict.headline
    assert finding.entry_ids == [1, 2, 3]
    assert finding.values["attempts"] == 3 and finding.values["recovered"] is True
    assert all(gap >= 55 for gap in finding.timings_ms.values())


def test_retried_is_silent_without_retries() -> None:
    verdict = World().run(retrying(3, 60), CONTRACT)
    assert verdict.kind == "pass"
    assert not verdict.has("retried")


def test_retry_storm_fires_past_the_attempt_bound() -> None:
    world = World(rules(chat_503()))
    verdict = world.run(retrying(5, 10), CONTRACT.model_copy(update={"min_backoff_ms": 5}))
    assert verdict.kind == "retry_storm"
    storm = verdict.findings_of("retry_storm")[0]
    assert storm.values == {"attempts": 5, "max_attempts": 3}
    assert storm.entry_ids == [1, 2, 3, 4, 5]
    # It then gave up with its declared error: listed, but the storm heads the verdict.
    assert verdict.has("controlled_error")


def test_scenario_bound_is_stricter_than_the_contract() -> None:
    world = World(rules(chat_503("1-2")))
    contract = CONTRACT.model_copy(update={"max_attempts": 5})
    verdict = world.run(retrying(3, 60), contract, max_attempts=2)
    assert verdict.kind == "retry_storm"
    assert verdict.headline.values["max_attempts"] == 2


def test_retry_storm_fires_for_retries_without_backoff() -> None:
    world = World(rules(chat_503("1")))
    verdict = world.run(retrying(3, 0), AT_ONCE)
    assert verdict.kind == "retry_storm"
    assert "without backoff" in verdict.headline.summary
    assert verdict.headline.timings_ms["gap_1_2_ms"] < AT_ONCE.min_backoff_ms


def test_retry_storm_is_silent_for_bounded_retries_with_backoff() -> None:
    verdict = World(rules(chat_503("1-2"))).run(retrying(3, 60), CONTRACT)
    assert not verdict.has("retry_storm")


RATE_LIMITED = (
    "{match: {route: openai}, when: {nth: 1},"
    " fault: {type: http_error, status: 429, retry_after_ms: 400}}"
)


def test_retry_after_ignored_fires_when_the_sut_retries_too_soon() -> None:
    world = World(rules(RATE_LIMITED))
    verdict = world.run(retrying(3, 60), CONTRACT)
    assert verdict.kind == "retry_after_ignored"
    finding = verdict.headline
    assert finding.entry_ids == [1, 2]
    assert finding.timings_ms["retry_after_ms"] == 400
    # 60 ms of backoff against 400 asked: 340 ms of margin for a busy machine (with 150 asked,
    # a 90 ms pause in the SUT's thread turned the verdict into retried).
    assert 55 <= finding.timings_ms["gap_ms"] < 400


def test_retry_after_ignored_is_silent_when_the_sut_waits() -> None:
    world = World(rules(RATE_LIMITED))
    verdict = world.run(retrying(3, 60, honour_retry_after=True), CONTRACT)
    assert verdict.kind == "retried"
    assert not verdict.has("retry_after_ignored")
    assert verdict.headline.timings_ms["gap_1_2_ms"] >= 398


def _is_quota(response: httpx.Response) -> bool:
    return response.status_code == 429 and "insufficient_quota" in response.text


QUOTA = (
    "{match: {route: openai},"
    " fault: {type: http_error, status: 429, error_type: insufficient_quota}}"
)
BAD_REQUEST = "{match: {route: openai}, when: {nth: 1}, fault: {type: http_error, status: 400}}"


def test_retried_non_retryable_fires_after_a_400() -> None:
    world = World(rules(BAD_REQUEST))
    verdict = world.run(retrying(3, 60), CONTRACT)
    assert verdict.kind == "retried_non_retryable"
    assert verdict.headline.entry_ids == [1, 2]
    assert verdict.headline.values["status"] == 400


def test_retried_non_retryable_fires_after_an_exhausted_quota() -> None:
    world = World(rules(QUOTA))
    verdict = world.run(retrying(3, 60), CONTRACT)
    assert verdict.kind == "retried_non_retryable"
    assert "insufficient_quota" in verdict.headline.summary


def test_retried_non_retryable_is_silent_when_the_sut_stops() -> None:
    world = World(rules(QUOTA))
    verdict = world.run(retrying(3, 60, give_up_on=_is_quota), CONTRACT)
    assert verdict.kind == "controlled_error"
    assert not verdict.has("retried_non_retryable")
    assert len(world.engine.ledger) == 1


def test_retried_non_retryable_is_silent_for_transient_errors() -> None:
    verdict = World(rules(chat_503("1"))).run(retrying(3, 60), CONTRACT)
    assert verdict.kind == "retried"
    assert not verdict.has("retried_non_retryable")


def sdk_like(outer: int, inner: int):
    """An app loop (``outer`` tries) around an SDK-like client that retries on its own
    (``inner`` attempts, numbered with x-stainless-retry-count from 0 on every call)."""

    def sut(world: World) -> Answer:
        body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "order 1042?"}]}
        for _ in range(outer):
            for retry in range(inner):
                headers = {"x-stainless-retry-count": str(retry)}
                response = world.client.post(
                    "https://api.openai.com/v1/chat/completions", json=body, headers=headers
                )
                if response.status_code == 200:
                    return Answer.model_validate(model_answer(response))
                sleep_ms(60)
        raise OrderLookupError("model unavailable")

    return sut


def test_retries_around_retries_are_one_logical_call() -> None:
    world = World(rules(chat_503()))
    verdict = world.run(sdk_like(2, 2), CONTRACT)
    # The app's second try restarts the SDK's count at 0: still the same request after a 503.
    ledger = world.engine.ledger.entries
    assert [(e.logical_call, e.attempt) for e in ledger] == [(1, 1), (1, 2), (1, 3), (1, 4)]
    assert verdict.kind == "retry_storm"
    assert verdict.headline.values == {"attempts": 4, "max_attempts": 3}
    assert verdict.headline.entry_ids == [1, 2, 3, 4]


def test_retries_around_retries_within_the_bound_are_retried() -> None:
    world = World(rules(chat_503("1-2")))
    verdict = world.run(sdk_like(2, 2), CONTRACT)
    assert verdict.kind == "retried"


def test_retried_with_the_real_openai_sdk() -> None:
    import openai

    def sdk(world: World) -> Answer:
        client = openai.OpenAI(api_key="test", http_client=world.client, max_retries=1)
        completion = client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "Where is order 1042?"}]
        )
        return Answer.model_validate_json(completion.choices[0].message.content or "")

    # retry-after-ms keeps the SDK's wait short (it honours it over its own backoff).
    world = World(
        rules(
            "{match: {route: openai}, when: {nth: 1},"
            " fault: {type: http_error, status: 503, retry_after_ms: 30}}"
        )
    )
    verdict = world.run(sdk, CONTRACT)
    assert verdict.kind == "retried", verdict.explain()
    assert verdict.headline.values["attempts"] == 2
    assert verdict.headline.timings_ms["gap_1_2_ms"] >= 28


def resending_at_once(attempts: int, *, fix_after_error: bool = False):
    """A SUT that asks again at once while the answer is unusable (an error status or an answer
    that does not validate); with ``fix_after_error`` the next request is rewritten (a shorter
    question), as an app that repairs a request the server rejected would."""

    def sut(world: World) -> Answer:
        question = "Where is order 1042? Please answer with every detail you have."
        for _ in range(attempts):
            response = world.chat(question=question)
            try:
                return Answer.model_validate(model_answer(response))
            except (ValueError, KeyError):
                if fix_after_error and response.status_code >= 400:
                    question = "Where is order 1042?"
        raise OrderLookupError("no valid answer")

    return sut


@pytest.mark.parametrize(
    ("kind", "verdict_kind"),
    [
        # The answer arrived (HTTP 200): nothing says the upstream is struggling, so no backoff
        # is owed, as instructor's and pydantic-ai's immediate re-asks assume...
        ("truncated_json", "retried"),
        # ...unless it is a gateway's error page: then the upstream is in trouble.
        ("html_200", "retry_storm"),
    ],
)
def test_asking_again_at_once_after_a_malformed_answer(kind: str, verdict_kind: str) -> None:
    fault = f"{{type: malformed_body, kind: {kind}}}"
    world = World(rules(f"{{match: {{route: openai}}, when: {{nth: 1}}, fault: {fault}}}"))
    verdict = world.run(resending_at_once(3), AT_ONCE)
    assert [(e.logical_call, e.attempt) for e in world.engine.ledger.entries] == [(1, 1), (1, 2)]
    assert verdict.kind == verdict_kind, verdict.explain()
    assert verdict.headline.timings_ms["gap_1_2_ms"] < AT_ONCE.min_backoff_ms


def test_a_changed_request_after_a_400_is_a_fix_not_a_blind_retry() -> None:
    verdict = World(rules(BAD_REQUEST)).run(resending_at_once(3, fix_after_error=True), CONTRACT)
    assert verdict.kind == "retried", verdict.explain()
    assert verdict.headline.values["reasks"] == 1


def test_a_changed_request_after_an_exhausted_quota_is_still_non_retryable() -> None:
    world = World(rules(QUOTA))
    verdict = world.run(resending_at_once(2, fix_after_error=True), CONTRACT)
    assert [e.logical_call for e in world.engine.ledger.entries] == [1, 1]
    assert verdict.has("retried_non_retryable"), verdict.explain()
    assert verdict.has("retry_storm")  # and a 429 is owed a wait


def _closed(*faults: tuple[str, dict[str, object]], status: int = 200) -> LedgerEntry:
    return LedgerEntry(
        id=1,
        route="openai",
        method="POST",
        url="https://api.openai.com/v1/chat/completions",
        format="openai_chat",
        logical_call=1,
        attempt=1,
        arrival_ms=0.0,
        status=status,
        ending="client_closed",
        faults=[AppliedFault(rule=t, type=t, params=p) for t, p in faults],
    )


def test_no_backoff_is_owed_after_an_answer_the_client_rejected() -> None:
    # The SDK read a broken line (or drifted data) and hung up: the server is not in trouble.
    assert backoff_reason(_closed(("broken_sse", {"kind": "invalid_data_line"}))) is None
    assert backoff_reason(_closed(("malformed_body", {"kind": "invalid_json"}))) is None
    assert backoff_reason(_closed(("schema_drift", {"op": "drop"}))) is None


def test_a_backoff_is_still_owed_after_giving_up_waiting_or_a_gateway_page() -> None:
    assert backoff_reason(_closed(("stall", {"stall_ms": 5000}))) == "ended by client_closed"
    assert backoff_reason(_closed(("timeout", {"timeout_ms": 5000}))) == "ended by client_closed"
    assert backoff_reason(_closed()) == "ended by client_closed"
    page = ("malformed_body", {"kind": "html_200"})
    assert backoff_reason(_closed(page)) == "a gateway's error page"
    assert backoff_reason(_closed(("broken_sse", {}), status=503)) == "HTTP 503"
