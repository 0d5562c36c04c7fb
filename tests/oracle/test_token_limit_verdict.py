"""A token-limit cut returned as a complete answer is ``truncated_output_accepted``: small apps on
the official openai and anthropic SDKs, replaying real recordings through faultkit's in-process
door with a ``token_limit`` fault, judged from the ledger they leave.

The answer arrives whole in its framing (``finish_reason: "length"``, ``stop_reason:
"max_tokens"``), so no error tells the app: only the stop reason does. An app that reads it and
asks again (a retry of the same call, in the ledger's eyes) or reports the cut is controlled.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import anthropic
import openai

from faultkit.oracle import Contract, Verdict, capture, judge
from faultkit.session import FaultkitSession

REAL = Path(__file__).resolve().parents[1] / "cassettes-real"
SIMPLE = REAL / "pydantic-ai__test_request_simple_usage.yaml"
STREAMED = REAL / "pydantic-ai__test_run_stream_sync_streams_real_model.yaml"
ANTHROPIC_TEXT = REAL / "pydantic-ai__test_anthropic_model_retrying_after_empty_response.yaml"
RECORDED = (
    "Hello! I'm just a computer program, so I don't have feelings, but I'm here and ready to "
    "help you. How can I assist you today?"
)
ASK = [{"role": "user", "content": "Hello! How are you doing?"}]


class AnswerCutOff(Exception):
    """The apps' declared error: the model's answer did not arrive whole."""


CONTRACT = Contract(error_types=[AnswerCutOff])


def judged(
    cassette: Path, app: Callable[[FaultkitSession], Any], **when: Any
) -> tuple[Verdict, Any, FaultkitSession]:
    """Run ``app`` with a token_limit fault on the first provider call (``when``: on others)."""
    with FaultkitSession(
        cassettes=[cassette], playback="repeat", match_on=("method", "path")
    ) as fk:
        fk.inject({"type": "token_limit"}, when=when or {"nth": 1})
        result = capture(app, fk)
        return judge(fk.ledger, result, CONTRACT), result, fk


def openai_client(fk: FaultkitSession) -> openai.OpenAI:
    return openai.OpenAI(
        api_key="test", base_url="https://api.openai.com/v1", http_client=fk.client(), max_retries=0
    )


# -- apps ---------------------------------------------------------------------------------------
def takes_the_text(fk: FaultkitSession) -> str:
    """The planted bug: the message content is the answer, whatever the finish reason."""
    completion = openai_client(fk).chat.completions.create(model="gpt-4o", messages=ASK)
    return completion.choices[0].message.content or ""


def checks_the_finish_reason(fk: FaultkitSession) -> str:
    completion = openai_client(fk).chat.completions.create(model="gpt-4o", messages=ASK)
    choice = completion.choices[0]
    if choice.finish_reason == "length":
        raise AnswerCutOff("the answer stopped at the token limit")
    return choice.message.content or ""


def asks_again_after_a_cut(fk: FaultkitSession) -> str:
    client = openai_client(fk)
    for _ in range(2):
        choice = client.chat.completions.create(model="gpt-4o", messages=ASK).choices[0]
        if choice.finish_reason != "length":
            return choice.message.content or ""
    raise AnswerCutOff("cut twice")


def streams_the_text(fk: FaultkitSession) -> str:
    """The planted bug, streamed: every delta is kept, the finish reason is never read."""
    client = openai_client(fk)
    list(client.chat.completions.create(model="gpt-4o-mini", messages=ASK, stream=True))
    chunks = client.chat.completions.create(model="gpt-4o-mini", messages=ASK, stream=True)
    return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)


def anthropic_text(fk: FaultkitSession) -> str:
    client = anthropic.Anthropic(
        api_key="test",
        base_url="https://api.anthropic.com",
        http_client=fk.httpx2_client(),
        max_retries=0,
    )
    message = client.messages.create(model="claude-haiku-4-5", max_tokens=9, messages=ASK)
    return "".join(b.text for b in message.content if b.type == "text")


# -- fire -----------------------------------------------------------------------------------------
def test_a_length_cut_returned_as_the_answer_is_flagged() -> None:
    verdict, result, _ = judged(SIMPLE, takes_the_text)
    assert RECORDED.startswith(result.value) and result.value != RECORDED
    assert verdict.kind == "truncated_output_accepted", verdict.explain()
    (cut,) = verdict.headline.values["cuts"]
    assert cut["entry"] == 1 and cut["route"] == "openai"
    assert "token_limit" in cut["how"] and "choices[0].message.content" in cut["how"]
    assert f"{len(result.value)} of its {len(RECORDED)} characters" in cut["how"]
    assert not verdict.controlled


def test_a_streamed_cut_is_flagged() -> None:
    verdict, result, _ = judged(STREAMED, streams_the_text, nth=2)
    assert result.value and "London" not in result.value
    assert verdict.kind == "truncated_output_accepted", verdict.explain()
    assert verdict.headline.entry_ids == [2]


def test_an_anthropic_max_tokens_cut_is_flagged() -> None:
    verdict, result, _ = judged(ANTHROPIC_TEXT, anthropic_text)
    assert result.value and "help you today" not in result.value
    assert verdict.kind == "truncated_output_accepted", verdict.explain()


# -- stay silent ----------------------------------------------------------------------------------
def test_an_app_that_reads_the_finish_reason_is_controlled() -> None:
    verdict, _, _ = judged(SIMPLE, checks_the_finish_reason)
    assert verdict.kind == "controlled_error", verdict.explain()
    assert not verdict.has("truncated_output_accepted")


def test_asking_again_after_a_cut_is_a_retry_and_the_whole_answer_is_not_flagged() -> None:
    verdict, result, fk = judged(SIMPLE, asks_again_after_a_cut)
    assert result.value == RECORDED
    # The identical request after a token-limit answer is the same call's second attempt.
    assert [(e.logical_call, e.attempt) for e in fk.ledger] == [(1, 1), (1, 2)]
    assert not verdict.has("truncated_output_accepted"), verdict.explain()
    assert verdict.kind == "retried" and verdict.controlled, verdict.explain()
