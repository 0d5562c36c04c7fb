"""Retries an app makes itself, judged end to end: a support assistant on the official openai SDK
with the SDK's own retries off (``max_retries=0``), retrying or re-asking in its own loop,
replaying the bundled support cassette through faultkit's in-process door.

The SDK sends ``x-stainless-retry-count: 0`` on every one of these requests, so only what the
ledger observes (the same request after an unusable answer, the same conversation asked again)
can make them attempts of one call, and only then can the retry verdicts fire.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from pydantic import BaseModel, ValidationError

from faultkit.cassettes import load_cassette, write_cassette
from faultkit.errors import UnmatchedRequest
from faultkit.oracle import Contract, Verdict, capture, judge
from faultkit.scenario import Scenario
from faultkit.session import FaultkitSession

REPO = Path(__file__).resolve().parents[2]
CASSETTE = REPO / "cassettes/support/openai_order_status.yaml"
BASE_URL = "https://api.openai.com/v1"
ORDERS_URL = "http://orders.internal/orders"
SYSTEM = (
    "You are the support assistant of an online shop. Use the get_order tool to look up orders; "
    "never guess order data. Answer with the support_answer JSON schema."
)
QUESTION = "Hi, where is my order 1234? When will it arrive?"
GET_ORDER = {
    "type": "function",
    "function": {
        "name": "get_order",
        "parameters": {"type": "object", "properties": {"order_id": {"type": "string"}}},
    },
}


class Reply(BaseModel):
    order_id: str
    status: str
    eta: str | None
    reply: str


class ShopUnavailable(Exception):
    """The assistant's declared error: it could not answer reliably."""


CONTRACT = Contract(output_model=Reply, error_types=[ShopUnavailable], max_attempts=3)


@dataclass
class SupportBot:
    """Asks the model, looks the order up, asks for the structured answer. Every model call is
    retried in the app's own loop: up to ``attempts`` tries (None: until it works), ``wait_ms``
    apart, or as long as the server's retry-after asks when ``honour_retry_after``. With
    ``reasks`` it asks again that many times when the answer does not validate, appending the
    bad answer and the validation error, as pydantic-ai and instructor do."""

    fk: FaultkitSession
    attempts: int | None = 3
    wait_ms: float = 60
    honour_retry_after: bool = False
    stop_on_quota: bool = False
    reasks: int = 0
    retry_counts: list[str | None] = field(default_factory=list)

    def __post_init__(self) -> None:
        def sent(request: httpx.Request) -> None:
            self.retry_counts.append(request.headers.get("x-stainless-retry-count"))

        hooks = {"request": [sent]}
        self.llm = openai.OpenAI(
            api_key="test",
            base_url=BASE_URL,
            http_client=self.fk.client(event_hooks=hooks),
            max_retries=0,
        )
        self.http = self.fk.client()

    def answer(self, question: str) -> Reply:
        messages: list[dict[str, Any]] = [
            {"role": "system", "content": SYSTEM},
            {"role": "user", "content": question},
        ]
        message = self._complete(messages, tools=[GET_ORDER]).choices[0].message
        call = (message.tool_calls or [])[0]
        order_id = json.loads(call.function.arguments)["order_id"]
        order = self.http.get(f"{ORDERS_URL}/{order_id}").json()
        messages.append(message.model_dump(exclude_none=True))
        messages.append({"role": "tool", "tool_call_id": call.id, "content": json.dumps(order)})
        for reask in range(self.reasks + 1):
            content = self._complete(messages).choices[0].message.content or ""
            try:
                return Reply.model_validate_json(content)
            except ValidationError as exc:
                if reask == self.reasks:
                    raise ShopUnavailable("the model's answer does not validate") from exc
                correction = f"Your answer did not match the schema:\n{exc}\nFix the errors."
            messages.append({"role": "assistant", "content": content})
            messages.append({"role": "user", "content": correction})
        raise AssertionError("unreachable")

    def _complete(self, messages: list[dict[str, Any]], **extra: Any) -> Any:
        tries = 0
        while True:
            tries += 1
            try:
                return self.llm.chat.completions.create(
                    model="gpt-4o-mini", messages=messages, **extra
                )
            except openai.APIStatusError as exc:
                if self.stop_on_quota and exc.code == "insufficient_quota":
                    raise ShopUnavailable("the shop's model quota is exhausted") from exc
                if self.attempts is not None and tries >= self.attempts:
                    raise ShopUnavailable(f"the model is unavailable: {exc.status_code}") from exc
                wait_ms = self.wait_ms
                if self.honour_retry_after:
                    asked = float(exc.response.headers.get("retry-after") or 0) * 1000
                    wait_ms = max(wait_ms, asked)
                time.sleep(wait_ms / 1000)


def _run(
    bot_options: dict[str, Any],
    *rules: dict[str, Any],
    playback: str = "once",
    match_on: tuple[str, ...] = ("method", "uri"),
):
    """Run the bot against the support cassette with ``rules``; returns the verdict, the
    ledger as (logical call, attempt) pairs on the model route, and the bot."""
    scenario = Scenario.model_validate({"name": "app-retries", "rules": list(rules)})
    with FaultkitSession(
        scenario, cassettes=[CASSETTE], playback=playback, match_on=match_on
    ) as fk:
        bot = SupportBot(fk, **bot_options)
        verdict = judge(fk.engine.ledger, capture(bot.answer, QUESTION), CONTRACT, scenario)
        calls = [(e.logical_call, e.attempt) for e in fk.ledger if e.route == "openai"]
    return verdict, calls, bot


def _on_model(fault: dict[str, Any], **when: Any) -> dict[str, Any]:
    return {"match": {"route": "openai"}, "when": when, "fault": fault}


def _explain(verdict: Verdict) -> str:
    return verdict.explain()


def test_an_app_loop_that_ignores_retry_after_is_caught() -> None:
    rate_limited = {"type": "http_error", "status": 429, "retry_after_s": 2}
    verdict, calls, bot = _run({"wait_ms": 150}, _on_model(rate_limited, nth=1))
    assert set(bot.retry_counts) == {"0"}  # the SDK never says these are retries
    assert calls == [(1, 1), (1, 2), (2, 1)]
    assert verdict.kind == "retry_after_ignored", _explain(verdict)
    finding = verdict.headline
    assert finding.entry_ids == [1, 2]
    assert finding.timings_ms["retry_after_ms"] == 2000
    assert 140 <= finding.timings_ms["gap_ms"] < 1000


def test_an_app_loop_that_honours_retry_after_is_retried() -> None:
    rate_limited = {"type": "http_error", "status": 429, "retry_after_s": 0.3}
    options = {"wait_ms": 10, "honour_retry_after": True}
    verdict, calls, _ = _run(options, _on_model(rate_limited, nth=1))
    assert calls == [(1, 1), (1, 2), (2, 1)]
    assert verdict.kind == "retried", _explain(verdict)
    assert verdict.headline.timings_ms["gap_1_2_ms"] >= 295
    assert verdict.headline.values["recovered"] is True


QUOTA = {"type": "http_error", "status": 429, "error_type": "insufficient_quota"}


def test_an_app_loop_that_retries_an_exhausted_quota_is_caught() -> None:
    verdict, calls, bot = _run({"attempts": 3}, _on_model(QUOTA))
    assert set(bot.retry_counts) == {"0"}
    assert calls == [(1, 1), (1, 2), (1, 3)]
    assert verdict.kind == "retried_non_retryable", _explain(verdict)
    assert "insufficient_quota" in verdict.headline.summary
    assert [f.entry_ids for f in verdict.findings_of("retried_non_retryable")] == [[1, 2], [2, 3]]


def test_a_recorded_quota_error_retried_by_the_app_is_caught(tmp_path: Path) -> None:
    """No fault at all: the cassette itself holds the provider's insufficient_quota 429 (as a
    real recording may). What the answer said, not which fault made it, decides."""
    import random

    from faultkit.exchange import Response
    from faultkit.formats.detect import WireFormat
    from faultkit.formats.errors import error_response

    head, body = error_response(
        WireFormat.openai_chat,
        429,
        model="gpt-4o-mini",
        rng=random.Random(1),
        error_type="insufficient_quota",
    )
    interactions = load_cassette(CASSETTE).interactions
    first_chat = interactions[0].request
    pairs = [(first_chat, Response(head=head, body=body)), *interactions]
    recorded = tmp_path / "quota.yaml"
    write_cassette(recorded, pairs)
    with FaultkitSession(cassettes=[recorded], playback="once") as fk:
        bot = SupportBot(fk, attempts=3)
        verdict = judge(fk.engine.ledger, capture(bot.answer, QUESTION), CONTRACT)
        first = fk.ledger[0]
    assert first.faults == [] and first.error_code == "insufficient_quota"
    assert verdict.kind == "retried_non_retryable", _explain(verdict)


def test_an_app_that_stops_on_an_exhausted_quota_is_controlled() -> None:
    verdict, calls, _ = _run({"attempts": 3, "stop_on_quota": True}, _on_model(QUOTA))
    assert calls == [(1, 1)]
    assert verdict.kind == "controlled_error", _explain(verdict)


def test_an_app_loop_without_a_bound_is_a_retry_storm() -> None:
    unavailable = {"type": "http_error", "status": 503}
    verdict, calls, _ = _run({"attempts": None}, _on_model(unavailable, calls="1-5"))
    assert calls == [(1, n) for n in range(1, 7)] + [(2, 1)]
    assert verdict.kind == "retry_storm", _explain(verdict)
    assert verdict.headline.values == {"attempts": 6, "max_attempts": 3}


def test_a_resend_at_once_after_a_503_is_a_retry_storm() -> None:
    unavailable = {"type": "http_error", "status": 503}
    verdict, _, _ = _run({"wait_ms": 0}, _on_model(unavailable, nth=1))
    assert verdict.kind == "retry_storm", _explain(verdict)
    assert "without backoff" in verdict.headline.summary


# The structured answer is the model's second call; the drift renames its `status`.
DRIFT = {"type": "schema_drift", "op": "rename", "path": "status"}


def test_a_reask_after_drifted_output_is_retried() -> None:
    verdict, calls, _ = _run({"reasks": 1}, _on_model(DRIFT, nth=2), playback="repeat")
    assert calls == [(1, 1), (2, 1), (2, 2)]
    assert verdict.kind == "retried", _explain(verdict)
    finding = verdict.headline
    assert finding.entry_ids == [3, 4]  # #2 is the order tool
    assert finding.values["reasks"] == 1
    assert finding.values["after"] == ["schema_drift fault"]
    assert finding.values["recovered"] is True
    assert verdict.ok


def test_reasking_drifted_output_without_end_is_a_retry_storm() -> None:
    verdict, calls, _ = _run({"reasks": 4}, _on_model(DRIFT, after=1), playback="repeat")
    assert calls == [(1, 1)] + [(2, n) for n in range(1, 6)]
    assert verdict.kind == "retry_storm", _explain(verdict)
    assert verdict.headline.values == {"attempts": 5, "max_attempts": 3}
    assert "4 re-asked" in verdict.headline.summary


def _cassette_of_exact_bodies(tmp_path: Path) -> Path:
    """The support cassette with the bot's own request bodies, as if recorded from the bot the
    ordinary way (no failure, so no re-ask in it): bodies then match exactly."""
    bodies: list[bytes] = []
    with FaultkitSession(cassettes=[CASSETTE], playback="repeat") as fk:
        bot = SupportBot(fk)
        hooks = {"request": [lambda r: bodies.append(r.read())]}
        bot.llm = openai.OpenAI(
            api_key="test", base_url=BASE_URL, http_client=fk.client(event_hooks=hooks)
        )
        bot.answer(QUESTION)
    interactions = load_cassette(CASSETTE).interactions
    chats = iter(bodies)
    pairs = [
        (i.request.model_copy(update={"body": next(chats)}), i.response)
        if i.request.url.startswith(BASE_URL)
        else (i.request, i.response)
        for i in interactions
    ]
    path = tmp_path / "exact.yaml"
    write_cassette(path, pairs)
    return path


def test_a_reask_no_cassette_holds_is_answered_as_the_call_it_repeats(tmp_path: Path) -> None:
    """Matching on the body (as ``faultkit run`` does), the re-ask (the conversation plus the
    bad answer and the correction) is a request the cassette, recorded the ordinary way, never
    saw. It is answered with the recording of the attempt it repeats, so the app's recovery is
    tested instead of ending in a harness error; the ledger says so."""
    exact = _cassette_of_exact_bodies(tmp_path)
    scenario = Scenario.model_validate({"name": "drift", "rules": [_on_model(DRIFT, nth=2)]})
    with FaultkitSession(
        scenario, cassettes=[exact], playback="once", match_on=("method", "uri", "body")
    ) as fk:
        bot = SupportBot(fk, reasks=1)
        verdict = judge(fk.engine.ledger, capture(bot.answer, QUESTION), CONTRACT, scenario)
        seen = [(e.logical_call, e.attempt, e.recording) for e in fk.ledger if e.route == "openai"]
    assert verdict.kind == "retried", _explain(verdict)
    assert [s[:2] for s in seen] == [(1, 1), (2, 1), (2, 2)]
    assert seen[2][2] is not None and seen[2][2].endswith("(re-ask of #3)")
    assert seen[1][2] is not None and "re-ask" not in seen[1][2]


def test_a_new_question_no_cassette_holds_stays_unmatched() -> None:
    """Only a later attempt of a call a recording answered borrows its answer: a first ask
    with no recording is still a harness error, never invented."""
    with FaultkitSession(cassettes=[CASSETTE], match_on=("method", "uri", "body")) as fk:
        llm = openai.OpenAI(api_key="t", base_url=BASE_URL, http_client=fk.client(), max_retries=0)
        with pytest.raises(UnmatchedRequest):
            llm.chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": "Something else"}]
            )
        assert [e.ending for e in fk.ledger] == ["unmatched"]


@pytest.mark.parametrize("reasks", [0, 1])
def test_without_a_failed_answer_nothing_is_a_retry(reasks: int) -> None:
    verdict, calls, _ = _run({"reasks": reasks}, playback="repeat")
    assert calls == [(1, 1), (2, 1)]  # the agent's second step is a new call
    assert verdict.kind == "pass", _explain(verdict)


# -- structured output in a tool call's arguments, re-asked as pydantic-ai does -----------------

TOOL_OUTPUT = REPO / "tests/cassettes-real/pydantic-ai__test_openai_tool_output.yaml"
FINAL_RESULT = {
    "type": "function",
    "function": {
        "name": "final_result",
        "description": "The final response which ends this conversation",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "country": {"type": "string"}},
            "required": ["city", "country"],
        },
    },
}
GET_COUNTRY = {
    "type": "function",
    "function": {"name": "get_user_country", "parameters": {"type": "object", "properties": {}}},
}


class City(BaseModel):
    city: str
    country: str


def largest_city(fk: FaultkitSession) -> City:
    """An agent whose answer is the ``final_result`` tool's arguments: it runs the tools the
    model asks for, and when ``final_result`` does not validate it sends the tool call back with
    the validation error as the tool's result, once (pydantic-ai's output retries)."""
    llm = openai.OpenAI(api_key="test", base_url=BASE_URL, http_client=fk.client(), max_retries=0)
    messages: list[dict[str, Any]] = [
        {"role": "user", "content": "What is the largest city in the user country?"}
    ]
    retries = 1
    while True:
        message = (
            llm.chat.completions.create(
                model="gpt-4o", messages=messages, tools=[GET_COUNTRY, FINAL_RESULT]
            )
            .choices[0]
            .message
        )
        call = (message.tool_calls or [])[0]
        messages.append(message.model_dump(exclude_none=True))
        if call.function.name != "final_result":
            messages.append({"role": "tool", "tool_call_id": call.id, "content": "Mexico"})
            continue
        try:
            return City.model_validate_json(call.function.arguments)
        except ValidationError as exc:
            if not retries:
                raise ShopUnavailable("the answer does not validate") from exc
            retries -= 1
            error = f"{exc}\n\nFix the errors and try again."
            messages.append({"role": "tool", "tool_call_id": call.id, "content": error})


def test_a_reask_of_an_output_tool_after_drifted_arguments_is_retried() -> None:
    drift = {"type": "schema_drift", "target": "tool_arguments", "op": "rename", "path": "city"}
    scenario = Scenario.model_validate(
        {"name": "output-tool-drift", "rules": [_on_model(drift, nth=2)]}
    )
    contract = Contract(output_model=City, error_types=[ShopUnavailable], max_attempts=3)
    with FaultkitSession(scenario, cassettes=[TOOL_OUTPUT], playback="repeat") as fk:
        verdict = judge(fk.engine.ledger, capture(largest_city, fk), contract, scenario)
        calls = [(e.logical_call, e.attempt) for e in fk.ledger]
    # The agent's tool step is a new call; the re-ask after the drift is its second attempt.
    assert calls == [(1, 1), (2, 1), (2, 2)]
    assert verdict.kind == "retried", _explain(verdict)
    assert verdict.headline.values["after"] == ["schema_drift fault"]
