"""A refusal or an empty answer returned as a normal answer is ``invalid_output_leaked``, with the
refusal as evidence: small apps on the official openai and anthropic SDKs, replaying real
recordings through faultkit's in-process door with a ``refusal`` fault, judged from the ledger
they leave. An app that surfaces the refusal as a declared error, a clarification in its own
words, or a fallback to another model is controlled.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import anthropic
import openai
import pytest

from faultkit.faults.refusal import DEFAULT_TEXT
from faultkit.oracle import Contract, Verdict, capture, judge
from faultkit.session import FaultkitSession

REAL = Path(__file__).resolve().parents[1] / "cassettes-real"
SIMPLE = REAL / "pydantic-ai__test_request_simple_usage.yaml"
ANTHROPIC_TEXT = REAL / "pydantic-ai__test_anthropic_model_retrying_after_empty_response.yaml"
RECORDED = (
    "Hello! I'm just a computer program, so I don't have feelings, but I'm here and ready to "
    "help you. How can I assist you today?"
)
ASK = [{"role": "user", "content": "Hello! How are you doing?"}]


class ModelDeclined(Exception):
    """The apps' declared error: the model gave no answer to pass on."""


CONTRACT = Contract(error_types=[ModelDeclined], fallback_models=["gpt-4o-mini"])


def judged(
    app: Callable[[FaultkitSession], Any], fault: dict[str, Any], cassette: Path = SIMPLE
) -> tuple[Verdict, Any, FaultkitSession]:
    """Run ``app`` with ``fault`` on the first provider call."""
    with FaultkitSession(
        cassettes=[cassette], playback="repeat", match_on=("method", "path")
    ) as fk:
        fk.inject(fault, when={"nth": 1})
        result = capture(app, fk)
        return judge(fk.ledger, result, CONTRACT), result, fk


def ask(fk: FaultkitSession, model: str = "gpt-4o") -> Any:
    client = openai.OpenAI(
        api_key="test", base_url="https://api.openai.com/v1", http_client=fk.client(), max_retries=0
    )
    return client.chat.completions.create(model=model, messages=ASK).choices[0].message


# -- apps ---------------------------------------------------------------------------------------
def passes_it_on(fk: FaultkitSession) -> dict[str, str]:
    """The planted bug: whatever the model said (its answer, else its refusal) is the reply."""
    message = ask(fk)
    return {"reply": message.content or message.refusal or ""}


def declares_it(fk: FaultkitSession) -> dict[str, str]:
    message = ask(fk)
    if message.refusal or not message.content:
        raise ModelDeclined(message.refusal or "empty answer")
    return {"reply": message.content}


def clarifies(fk: FaultkitSession) -> dict[str, str]:
    message = ask(fk)
    if message.refusal or not message.content:
        return {"reply": "Sorry, I could not answer that. Could you rephrase your question?"}
    return {"reply": message.content}


def falls_back(fk: FaultkitSession) -> dict[str, str]:
    message = ask(fk)
    if message.refusal or not message.content:
        message = ask(fk, model="gpt-4o-mini")
    return {"reply": message.content or ""}


def anthropic_text(fk: FaultkitSession) -> str:
    client = anthropic.Anthropic(
        api_key="test",
        base_url="https://api.anthropic.com",
        http_client=fk.httpx2_client(),
        max_retries=0,
    )
    message = client.messages.create(model="claude-haiku-4-5", max_tokens=64, messages=ASK)
    return "".join(b.text for b in message.content if b.type == "text")


def leaked(verdict: Verdict) -> dict[str, Any]:
    findings = verdict.findings_of("invalid_output_leaked")
    assert findings, verdict.explain()
    (finding,) = findings
    return finding.values


# -- fire -----------------------------------------------------------------------------------------
def test_a_refusal_passed_on_as_the_reply_is_leaked_with_the_refusal_as_evidence() -> None:
    verdict, result, _ = judged(passes_it_on, {"type": "refusal"})
    # The refusal says "can't" itself: that is the model's word, not the app labelling it.
    assert result.value == {"reply": DEFAULT_TEXT}
    assert verdict.kind == "invalid_output_leaked" and not verdict.controlled
    values = leaked(verdict)
    (refusal,) = values["refusals"]
    assert refusal["entry"] == 1 and refusal["kind"] == "refusal"
    assert refusal["said"] == DEFAULT_TEXT and refusal["instead_of"]["text"] == RECORDED
    assert refusal["stop"] == {}  # finish_reason stays "stop": the refusal field says it
    assert values["found_at"] == ["reply"]
    assert "declined" in verdict.headline.summary and "#1 on openai" in verdict.headline.summary


@pytest.mark.parametrize("kind", ["empty_answer", "content_filter"])
def test_an_empty_or_filtered_answer_passed_on_is_leaked(kind: str) -> None:
    verdict, result, _ = judged(passes_it_on, {"type": "refusal", "kind": kind})
    assert result.value == {"reply": ""}
    (refusal,) = leaked(verdict)["refusals"]
    assert refusal["kind"] == kind and refusal["said"] == ""
    if kind == "content_filter":
        assert refusal["stop"] == {"choices[0].finish_reason": "content_filter"}


def test_an_anthropic_refusal_returned_as_an_empty_answer_is_leaked() -> None:
    verdict, result, _ = judged(anthropic_text, {"type": "refusal"}, ANTHROPIC_TEXT)
    assert result.value == ""
    (refusal,) = leaked(verdict)["refusals"]
    assert refusal["stop"] == {"stop_reason": "refusal"}


# -- stay silent ----------------------------------------------------------------------------------
def test_a_declared_error_is_controlled() -> None:
    verdict, _, _ = judged(declares_it, {"type": "refusal"})
    assert verdict.kind == "controlled_error", verdict.explain()
    assert not verdict.has("invalid_output_leaked")


def test_a_clarification_in_the_apps_own_words_is_controlled() -> None:
    verdict, _, _ = judged(clarifies, {"type": "refusal", "kind": "empty_answer"})
    assert not verdict.has("invalid_output_leaked"), verdict.explain()
    assert verdict.kind == "pass", verdict.explain()


def test_a_fallback_to_another_model_is_controlled() -> None:
    verdict, result, fk = judged(falls_back, {"type": "refusal"})
    assert result.value == {"reply": RECORDED}
    assert [e.model for e in fk.ledger] == ["gpt-4o", "gpt-4o-mini"]
    assert not verdict.has("invalid_output_leaked"), verdict.explain()
    assert verdict.kind == "fallback", verdict.explain()  # a refusal is a degraded answer


def test_no_refusal_no_finding() -> None:
    with FaultkitSession(cassettes=[SIMPLE]) as fk:
        result = capture(passes_it_on, fk)
        verdict = judge(fk.ledger, result, CONTRACT)
    assert result.value == {"reply": RECORDED}
    assert verdict.kind == "pass", verdict.explain()


def reasks(fk: FaultkitSession) -> dict[str, str]:
    """Asks again with the refusal and a correction appended, as agent frameworks do."""
    client = openai.OpenAI(
        api_key="test", base_url="https://api.openai.com/v1", http_client=fk.client(), max_retries=0
    )
    messages: list[dict[str, str]] = list(ASK)
    message = client.chat.completions.create(model="gpt-4o", messages=messages).choices[0].message
    if message.refusal:
        messages.append({"role": "assistant", "content": message.refusal})
        messages.append({"role": "user", "content": "Please answer the question."})
        message = client.chat.completions.create(model="gpt-4o", messages=messages).choices[0]
        message = message.message
    return {"reply": message.content or ""}


def test_a_re_ask_after_a_refusal_is_the_same_calls_next_attempt() -> None:
    verdict, result, fk = judged(reasks, {"type": "refusal"})
    assert result.value == {"reply": RECORDED}
    assert [(e.logical_call, e.attempt) for e in fk.ledger] == [(1, 1), (1, 2)]
    assert verdict.kind == "retried", verdict.explain()
